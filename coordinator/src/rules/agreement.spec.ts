import { parseManifest } from '@autoresearch/protocol'
import { describe, expect, it } from 'vitest'
import { agrees, attestationAgrees, disagreeing, measuredTrials, reputationMoves, tolerance } from './agreement.ts'

describe('agreement', () => {
  const honest = [0.001, -0.002, 0.0005, 0.0015, -0.001]
  it('a subject agrees with references that measured the same gains, and not with invented ones', () => {
    expect(agrees(honest.map((g) => g + 0.0003), [honest], 0.005)).toBe(true)
    expect(agrees(honest.map(() => 0.5), [honest], 0.005)).toBe(false)
    expect(agrees([], [honest], 0.005)).toBe(false)
    expect(agrees(honest, [], 0.005)).toBe(false)
  })

  it('a failure where trusted verifiers measured is a disagreement; both failing agree', () => {
    const measured = { gains: honest, complete: true }
    const failed = { gains: [], complete: false }
    expect(attestationAgrees(failed, [measured], 0.005)).toBe(false)
    expect(attestationAgrees(measured, [failed], 0.005)).toBe(false)
    expect(attestationAgrees(failed, [failed], 0.005)).toBe(true)
    expect(attestationAgrees(measured, [measured], 0.005)).toBe(true)
  })

  it('among three verifiers the far one is the outlier; two that differ are a split', () => {
    const by = new Map([['a', honest], ['b', honest.map((g) => g + 0.0002)], ['liar', honest.map(() => 1)]])
    expect(disagreeing(by, 0.005, 0.01)).toEqual({ split: true, outliers: ['liar'] })
    expect(disagreeing(new Map([['a', honest], ['liar', honest.map(() => 1)]]), 0.005, 0.01)).toEqual({ split: true, outliers: [] })
    expect(disagreeing(new Map([['a', honest]]), 0.005, 0.01)).toEqual({ split: false, outliers: [] })
  })
})

describe('tolerance between verifiers', () => {
  it('twice minImprovement at least; else four standard errors of the spread within each verifier', () => {
    expect(tolerance([[1, 1], [2, 2]], 0.25, 10)).toBe(0.5)
    // Variance 4/3 within each verifier, 4 trials each: 4·√(4/3)/√4 (the gap between the two means does not widen it).
    expect(tolerance([[0, 2, 0, 2], [10, 12, 10, 12]], 0.25, 0)).toBeCloseTo(4 * Math.sqrt(4 / 3) / 2, 12)
    // One trial each: no spread within, the fallback is used.
    expect(tolerance([[1], [2]], 0.25, 1)).toBe(4)
  })

  it('a two-way gap exactly at the tolerance is no split', () => {
    expect(disagreeing(new Map([['a', [0, 0]], ['b', [0.5, 0.5]]]), 0.25, 0)).toEqual({ split: false, outliers: [] })
    expect(disagreeing(new Map([['a', [0, 0]], ['b', [0.75, 0.75]]]), 0.25, 0)).toEqual({ split: true, outliers: [] })
  })
})

describe('measured trials and reputation', () => {
  const manifest = parseManifest({
    name: 'toy', editable: ['train.py'], train: { command: ['python', 'train.py'] }, metric: { name: 'loss', direction: 'minimize', stdoutPattern: 'loss=(\\S+)' }, verification: { minImprovement: 0.01 }
  })
  const trial = (baseline: number | null, candidate: number | null) => ({ seed: 1, baseline, candidate, baselineLogDigest: 'd', candidateLogDigest: 'd' })

  it('gains where both sides measured, and whether every trial did', () => {
    expect(measuredTrials(manifest, [trial(1, 0.5), trial(2, 1.5)])).toEqual({ gains: [0.5, 0.5], complete: true })
    expect(measuredTrials(manifest, [trial(1, 0.5), trial(null, 1)])).toEqual({ gains: [0.5], complete: false })
  })

  it('moves only where three or more verifiers measured: the outliers down, the rest up', () => {
    expect(reputationMoves(['a', 'b'], [])).toEqual([])
    expect(reputationMoves(['a', 'b', 'c'], ['b'])).toEqual([{ verifier: 'a', agreed: true }, { verifier: 'b', agreed: false }, { verifier: 'c', agreed: true }])
  })
})
