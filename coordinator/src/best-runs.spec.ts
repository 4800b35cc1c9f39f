import { describe, expect, it } from 'vitest'
import type { AttestationBody } from '@autoresearch/protocol'
import { BestRunsMemo, verifiedRuns } from './best-runs.ts'
import type { AttestationRow, CandidateRow, MergeRow } from './store/index.ts'

const digest = '0'.repeat(64)
const trial = (verifier: string, seed: number, candidate: number | null): NonNullable<CandidateRow['verdict']>['trials'][number] =>
  ({ verifier, seed, baseline: 1, candidate, baselineLogDigest: digest, candidateLogDigest: digest })
const attestation = (verifier: string, cls: string): Pick<AttestationRow, 'verifier' | 'body'> =>
  ({ verifier, body: { hardware: { class: cls, cpus: 2, gpus: [] } } as unknown as AttestationBody })
const verdict = (over: Partial<NonNullable<CandidateRow['verdict']>>): NonNullable<CandidateRow['verdict']> => ({
  candidateSeq: 4, state: 'accepted', meanImprovement: 0.1, reason: 'passed', seeds: [11, 12, 13], trials: [], test: null,
  baselineMetric: 1, candidateMetric: 0.9, rounds: 1, claimContradicted: false, disagreeing: [], ...over
})

describe('verifiedRuns', () => {
  it('gives the candidate side of each trial with its verifier\'s hardware class', () => {
    const v = verdict({ trials: [trial('a', 11, 0.9), trial('b', 12, 0.8)] })
    expect(verifiedRuns(v, [attestation('a', 'cpu-x'), attestation('b', 'gpu-y')])).toEqual([
      { seed: 11, metric: 0.9, hardware: 'cpu-x' }, { seed: 12, metric: 0.8, hardware: 'gpu-y' }
    ])
  })

  it('leaves out disagreeing verifiers, sides without a metric and repeats of a seed on one class', () => {
    const v = verdict({ trials: [trial('a', 11, 0.9), trial('b', 11, 0.91), trial('c', 12, 0.5), trial('a', 13, null)], disagreeing: ['c'] })
    expect(verifiedRuns(v, [attestation('a', 'cpu'), attestation('b', 'cpu'), attestation('c', 'cpu')])).toEqual([{ seed: 11, metric: 0.9, hardware: 'cpu' }])
  })

  it('gives nothing for a candidate that was not accepted, or a verifier without an attestation', () => {
    expect(verifiedRuns(verdict({ state: 'rejected', trials: [trial('a', 11, 0.9)] }), [attestation('a', 'cpu')])).toEqual([])
    expect(verifiedRuns(null, [])).toEqual([])
    expect(verifiedRuns(verdict({ trials: [trial('z', 11, 0.9)] }), [attestation('a', 'cpu')])).toEqual([])
  })
})

describe('BestRunsMemo', () => {
  const merge = (seq: number, kind: MergeRow['kind'], candidate: number | null): MergeRow =>
    ({ seq, index: seq - 1, commit_oid: 'c'.repeat(40), parent_oid: null, candidate_seq: candidate, metric: 0.9, baseline_metric: 1, merged_at: 1, kind, reverted_at: null })

  it('reads a merge\'s verdict once, and has nothing for the initial commit or a revert', () => {
    let reads = 0
    const store = {
      candidate: (seq: number) => { reads++; return { seq, verdict: verdict({ trials: [trial('a', 11, 0.9)] }) } as CandidateRow },
      attestationsFor: () => [attestation('a', 'cpu')] as AttestationRow[]
    }
    const memo = new BestRunsMemo(store)
    expect(memo.runs(merge(2, 'merge', 4))).toEqual([{ seed: 11, metric: 0.9, hardware: 'cpu' }])
    memo.runs(merge(2, 'merge', 4))
    expect(reads).toBe(1)
    expect(memo.runs(merge(1, 'initial', null))).toEqual([])
    expect(memo.runs(merge(3, 'revert', null))).toEqual([])
  })
})
