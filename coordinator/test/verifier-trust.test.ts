import { describe, expect, it } from 'vitest'
import { agrees, attestationAgrees, disagreeing } from '../src/rules/agreement.ts'
import { counts, isSpotCheck, spotCheckRate, verifierStanding, type VerifierFacts } from '../src/rules/verifier-trust.ts'

const POLICY = { agreementsToTrust: 3, spotCheckFloor: 0.1 }
const facts = (o: Partial<VerifierFacts> = {}): VerifierFacts => ({ mode: 'open', allowlisted: false, banned: false, reputation: 0, floor: -3, run: 0, ...o })

describe('verifier standing', () => {
  it('allowlist mode: the allowlist and nobody else', () => {
    expect(verifierStanding(facts({ mode: 'allowlist', allowlisted: true }), POLICY)).toBe('root')
    expect(verifierStanding(facts({ mode: 'allowlist', run: 4 }), POLICY)).toBe('barred')
  })

  it('open mode: a new key is on probation until a run of agreements, and its attestations do not count', () => {
    expect(verifierStanding(facts(), POLICY)).toBe('probation')
    expect(counts('probation')).toBe(false)
    expect(verifierStanding(facts({ run: 2 }), POLICY)).toBe('probation')
    expect(verifierStanding(facts({ run: 3 }), POLICY)).toBe('trusted')
    expect(counts('trusted')).toBe(true)
  })

  it('a disagreement ends the run: a trusted key is demoted and starts again (Store.agreementRun counts it, open-trust.test.ts)', () => {
    expect(verifierStanding(facts({ run: 3 }), POLICY)).toBe('trusted')
    expect(verifierStanding(facts({ run: 0 }), POLICY)).toBe('probation')
    expect(verifierStanding(facts({ run: 1 }), POLICY)).toBe('probation')
  })

  it('the allowlist is the root of trust; bans and the reputation floor bar anyone', () => {
    expect(verifierStanding(facts({ allowlisted: true }), POLICY)).toBe('root')
    expect(verifierStanding(facts({ allowlisted: true, reputation: -3 }), POLICY)).toBe('barred')
    expect(verifierStanding(facts({ banned: true, run: 3 }), POLICY)).toBe('barred')
  })
})

describe('spot checks', () => {
  it('check every job at first, then fewer as the run grows, never below the floor', () => {
    expect(spotCheckRate(3, POLICY)).toBe(1)
    expect(spotCheckRate(6, POLICY)).toBe(0.5)
    expect(spotCheckRate(1000, POLICY)).toBe(0.1)
    expect(isSpotCheck('trusted', 3, POLICY, 0.999)).toBe(true)
    expect(isSpotCheck('trusted', 1000, POLICY, 0.05)).toBe(true)
    expect(isSpotCheck('trusted', 1000, POLICY, 0.2)).toBe(false)
  })

  it('never for root keys (the yardstick) or keys on probation (already shadowed)', () => {
    expect(isSpotCheck('root', 0, POLICY, 0)).toBe(false)
    expect(isSpotCheck('probation', 0, POLICY, 0)).toBe(false)
  })
})

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
