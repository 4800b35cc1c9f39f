import { describe, expect, it } from 'vitest'
import type { CandidateReport } from './admin.ts'
import { candidateLines, figure } from './candidate-lines.ts'

const queued: CandidateReport = {
  seq: 3, commit: 'c'.repeat(40), parent: 'p'.repeat(40), tree: 't'.repeat(40), submitter: 'ab'.repeat(32), originSeq: null, state: 'queued', reason: null,
  claimedMetric: 1.4912345678, description: 'lr 0.02', receivedAt: 1, seeds: [11, 12], rounds: 1, trials: [], test: null, baselineMetric: null, candidateMetric: null, claimContradicted: false
}

describe('candidate lines', () => {
  it('rounds figures to five significant digits', () => {
    expect(figure(1.4912345678)).toBe('1.4912')
    expect(figure(0.000123456789)).toBe('0.00012346')
    expect(figure(null)).toBe('–')
  })

  it('shows a queued candidate\'s claim and seeds', () => {
    expect(candidateLines(queued)).toEqual(['#3 queued from ababababab claimed 1.4912: lr 0.02', '  seeds 11, 12 (1 round)'])
  })

  it('shows a verified candidate\'s trials, medians and test', () => {
    const lines = candidateLines({
      ...queued, state: 'merged', reason: 'improvement 0.031 beats 0.01',
      trials: [{ seed: 11, baseline: 1.52341, candidate: 1.48712, baselineLogDigest: 'a'.repeat(64), candidateLogDigest: 'b'.repeat(64), verifier: 'v' }],
      baselineMetric: 1.52341, candidateMetric: 1.48712,
      test: { n: 1, mean: 0.03629, sd: 0, margin: 0.01, t: null, pValue: 0, confidence: 0.95, passed: true }
    })
    expect(lines).toContain('  trials 1: seed 11 1.5234 -> 1.4871')
    expect(lines).toContain('  baseline 1.5234, candidate 1.4871')
    expect(lines).toContain('  test: mean improvement 0.03629 (sd 0, n 1) against minImprovement 0.01: t –, p 0 at 95% confidence, passed')
    expect(lines[lines.length - 1]).toBe('  reason: improvement 0.031 beats 0.01')
  })
})
