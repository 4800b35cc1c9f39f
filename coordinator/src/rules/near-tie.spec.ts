import { describe, expect, it } from 'vitest'
import type { PairedTest } from '../stats.ts'
import { extraRound, type RoundEvidence } from './near-tie.ts'

const test = (mean: number, pValue: number, passed: boolean): PairedTest => ({ n: 5, mean, sd: 0.01, margin: 0.01, t: null, pValue, confidence: 0.95, passed })
const evidence = (o: Partial<RoundEvidence> = {}): RoundEvidence => ({
  failed: 0, rounds: 1, maxRounds: 3, seedInsensitive: false, twoWaySplit: false, test: test(0.02, 0.2, false), minImprovement: 0.01, ...o
})

describe('one more round on fresh seeds', () => {
  it('for a near-tie: a mean gain above minImprovement the test cannot yet tell from noise', () => {
    expect(extraRound(evidence())).toBe('near-tie (p=0.200)')
    expect(extraRound(evidence({ rounds: 2 }))).toBe('near-tie (p=0.200)')
  })

  it('not for a mean gain exactly at minImprovement or below it: that is a plain rejection', () => {
    expect(extraRound(evidence({ test: test(0.01, 0.5, false) }))).toBeNull()
    expect(extraRound(evidence({ test: test(0.005, 0.7, false) }))).toBeNull()
  })

  it('not once the test passed', () => {
    expect(extraRound(evidence({ test: test(0.02, 0.01, true) }))).toBeNull()
  })

  it('for two verifiers that disagree, passed or not, before the near-tie', () => {
    expect(extraRound(evidence({ twoWaySplit: true }))).toBe('verifiers disagree')
    expect(extraRound(evidence({ twoWaySplit: true, test: test(0.02, 0.01, true) }))).toBe('verifiers disagree')
  })

  it('never on the last round, after a failed trial, or for a candidate that ignores the seed', () => {
    expect(extraRound(evidence({ rounds: 3 }))).toBeNull()
    expect(extraRound(evidence({ rounds: 3, twoWaySplit: true }))).toBeNull()
    expect(extraRound(evidence({ failed: 1, twoWaySplit: true }))).toBeNull()
    expect(extraRound(evidence({ seedInsensitive: true }))).toBeNull()
  })
})
