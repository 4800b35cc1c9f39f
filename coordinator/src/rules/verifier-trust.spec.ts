import { describe, expect, it } from 'vitest'
import { awaitsCheck, counts, isSpotCheck, referencesFor, spotCheckRate, verifierStanding, type VerifierFacts } from './verifier-trust.ts'

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

describe('checking shadow jobs and spot checks', () => {
  const roles = new Map([[1, 'shadow' as const], [2, 'spot-check' as const], [5, 'shadow' as const]])
  const inRound = [{ job_id: 1, verifier: 'newbie' }, { job_id: 2, verifier: 'trusted' }, { job_id: 3, verifier: 'root' }, { job_id: 4, verifier: 'demoted' }, { job_id: 5, verifier: 'other-newbie' }]
  const countsNow = (v: string): boolean => v === 'root' || v === 'trusted'

  it('only shadow and spot-check attestations are checked, each once', () => {
    expect(inRound.filter((a) => awaitsCheck(a, roles, new Set())).map((a) => a.job_id)).toEqual([1, 2, 5])
    expect(inRound.filter((a) => awaitsCheck(a, roles, new Set([2]))).map((a) => a.job_id)).toEqual([1, 5])
  })

  it('against the round\'s other keys that count, never a shadow job or the subject itself', () => {
    expect(referencesFor(inRound[0]!, inRound, roles, countsNow).map((a) => a.job_id)).toEqual([2, 3])
    expect(referencesFor(inRound[1]!, inRound, roles, countsNow).map((a) => a.job_id)).toEqual([3])
    expect(referencesFor(inRound[1]!, inRound, roles, (v) => v === 'trusted')).toEqual([])
  })
})
