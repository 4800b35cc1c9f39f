import { describe, expect, it } from 'vitest'
import type { CandidateSummary } from './candidates.ts'
import type { MergeView } from './merges.ts'
import { chart } from './overview.ts'

const merge = (seq: number, kind: MergeView['kind'], commit: string, metric: number | null, mergedAt: number): MergeView => ({
  seq, kind, commit, parent: null, candidateSeq: null, submitter: null, submitterName: null, description: null, metric, baselineMetric: null, gain: null, mergedAt, revertedAt: null
})

describe('chart view', () => {
  it('plots verified candidates only, at their last attestation (or receipt)', () => {
    const base = { commit: 'c', parent: 'p', submitter: 'k', submitterName: null, team: null, originSeq: null, reason: null, description: '', claimedMetric: 1, baselineMetric: null, meanImprovement: null, claimContradicted: false }
    const candidates: CandidateSummary[] = [
      { ...base, seq: 1, state: 'merged', verifiedMetric: 0.9, receivedAt: 10, verifiedAt: 20 },
      { ...base, seq: 2, state: 'queued', verifiedMetric: null, receivedAt: 30, verifiedAt: null },
      { ...base, seq: 3, state: 'rejected', verifiedMetric: 1.1, receivedAt: 40, verifiedAt: null }
    ]
    expect(chart(candidates, [], null).points).toEqual([{ seq: 1, time: 20, metric: 0.9, state: 'merged' }, { seq: 3, time: 40, metric: 1.1, state: 'rejected' }])
  })

  it('steps the best from the first baseline through merges, a revert back to an earlier best taking its metric', () => {
    const merges = [merge(0, 'initial', 'a', null, 1), merge(1, 'merge', 'b', 0.8, 2), merge(2, 'revert', 'a', null, 3)]
    expect(chart([], merges, 1).best).toEqual([{ time: 1, metric: 1, commit: 'a' }, { time: 2, metric: 0.8, commit: 'b' }, { time: 3, metric: 1, commit: 'a' }])
    // No baseline measured yet: the initial commit has no point.
    expect(chart([], merges.slice(0, 2), null).best).toEqual([{ time: 2, metric: 0.8, commit: 'b' }])
  })
})
