import { describe, expect, it } from 'vitest'
import { parseManifest } from './manifest.ts'
import { normalQuantile, stopEarly } from './sequential.ts'

const base = { name: 't', editable: ['train.py'], train: { command: ['python3', 'train.py'] }, evaluate: { command: ['python3', 'evaluate.py'] }, metric: { name: 'loss', direction: 'minimize' } }
const withRule = parseManifest({ ...base, verification: { minImprovement: 0.05, sequential: { noise: 0.014 } } })
const without = parseManifest({ ...base, verification: { minImprovement: 0.05 } })
/** A pair whose candidate beats the baseline by `gain` (loss goes down). */
const pair = (gain: number): { baseline: number, candidate: number } => ({ baseline: 1, candidate: 1 - gain })

/** A seeded normal sampler (mulberry32 and Box–Muller): the spec is reproducible. */
function normals (seed: number): () => number {
  let s = seed >>> 0
  const uniform = (): number => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = Math.imul(s ^ (s >>> 15), 1 | s)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297
  }
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform())
}

describe('normalQuantile', () => {
  it('gives the textbook values', () => {
    expect(normalQuantile(0.5)).toBeCloseTo(0, 9)
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5)
    expect(normalQuantile(0.99)).toBeCloseTo(2.326348, 5)
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232, 5)
  })

  it('refuses what is not a probability', () => {
    expect(() => normalQuantile(1)).toThrow(RangeError)
    expect(() => normalQuantile(0)).toThrow(RangeError)
  })
})

describe('stopEarly', () => {
  it('rejects a clear loser after its first pair', () => {
    expect(stopEarly(withRule, [pair(-0.1)], 3)).toMatch(/^after 1 of 3 pairs the mean gain -0.100 .* misses it$/)
  })

  it('goes on while a true gain of minImprovement stays plausible', () => {
    expect(stopEarly(withRule, [pair(0.03)], 3)).toBeNull()
    expect(stopEarly(withRule, [pair(0.07), pair(-0.01)], 3)).toBeNull()
  })

  it('tightens its bound as pairs accumulate', () => {
    // 0.02 is within 2.33 × 0.014 of 0.05 after one pair, not after two.
    expect(stopEarly(withRule, [pair(0.02)], 3)).toBeNull()
    expect(stopEarly(withRule, [pair(0.02), pair(0.02)], 3)).not.toBeNull()
  })

  it('never decides on no pairs or on a complete round', () => {
    expect(stopEarly(withRule, [], 3)).toBeNull()
    expect(stopEarly(withRule, [pair(-1), pair(-1), pair(-1)], 3)).toBeNull()
  })

  it('stops on a failed pair with or without the rule: any failure rejects', () => {
    const failed = [{ baseline: 1, candidate: null }]
    expect(stopEarly(without, failed, 3)).toMatch(/1 of the first 1 pairs produced no metric/)
    expect(stopEarly(withRule, [pair(0.2), { baseline: null, candidate: 0.5 }], 3)).not.toBeNull()
  })

  it('without `verification.sequential` runs every pair of a loser', () => {
    expect(stopEarly(without, [pair(-1)], 3)).toBeNull()
  })

  it('reads the metric direction', () => {
    const maximize = parseManifest({ ...base, metric: { name: 'acc', direction: 'maximize' }, verification: { minImprovement: 0.05, sequential: { noise: 0.014 } } })
    expect(stopEarly(maximize, [{ baseline: 0.5, candidate: 0.4 }], 3)).not.toBeNull()
    expect(stopEarly(maximize, [{ baseline: 0.5, candidate: 0.6 }], 3)).toBeNull()
  })

  it('stops a candidate whose true gain is exactly minImprovement about `futility` of the time per look', () => {
    const normal = normals(1)
    const runs = 20_000
    let stoppedFirst = 0
    let stoppedAny = 0
    for (let i = 0; i < runs; i++) {
      const pairs = [0, 1].map(() => pair(0.05 + 0.014 * normal()))
      const first = stopEarly(withRule, pairs.slice(0, 1), 3) !== null
      if (first) stoppedFirst++
      if (first || stopEarly(withRule, pairs, 3) !== null) stoppedAny++
    }
    // 1 % per look: binomial sd over 20,000 runs is 0.07 %.
    expect(stoppedFirst / runs).toBeGreaterThan(0.007)
    expect(stoppedFirst / runs).toBeLessThan(0.013)
    // Two looks cost a true gain of minImprovement at most 2 % of its acceptances.
    expect(stoppedAny / runs).toBeLessThan(0.02)
  })

  it('stops a loser with no gain at all after its first pair most of the time', () => {
    const normal = normals(2)
    let stopped = 0
    for (let i = 0; i < 2000; i++) if (stopEarly(withRule, [pair(0.014 * normal())], 3) !== null) stopped++
    // P(N(0, 0.014) < 0.05 − 2.326 × 0.014) = Φ(1.245) ≈ 0.89.
    expect(stopped / 2000).toBeGreaterThan(0.86)
    expect(stopped / 2000).toBeLessThan(0.92)
  })
})
