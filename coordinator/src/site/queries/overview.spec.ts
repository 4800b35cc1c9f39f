import { describe, expect, it } from 'vitest'
import type { CandidateSummary } from './candidates.ts'
import type { MergeView } from './merges.ts'
import { bestLine, chartPoints, CHART_POINTS } from './overview.ts'

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
    expect(chartPoints(candidates).points).toEqual([{ seq: 1, time: 20, metric: 0.9, state: 'merged' }, { seq: 3, time: 40, metric: 1.1, state: 'rejected' }])
    expect(chartPoints(candidates).pointsTotal).toBe(2)
  })

  it('plots the latest verified candidates and the merged ones before them, however long the cause has run', () => {
    const base = { commit: 'c', parent: 'p', submitter: 'k', submitterName: null, team: null, originSeq: null, reason: null, description: '', claimedMetric: 1, baselineMetric: null, meanImprovement: null, claimContradicted: false, verifiedAt: null }
    // Every tenth of 5 × CHART_POINTS verified candidates merged, a hundred never verified.
    const candidates: CandidateSummary[] = Array.from({ length: 5 * CHART_POINTS + 100 }, (_, i) => ({ ...base, seq: i + 1, state: i % 10 === 0 ? 'merged' : 'rejected', verifiedMetric: i < 100 ? null : 1, receivedAt: i }))
    const { points, pointsTotal } = chartPoints(candidates)
    expect(pointsTotal).toBe(5 * CHART_POINTS)
    const latest = points.filter((p) => p.seq > 4 * CHART_POINTS + 100)
    expect(latest).toHaveLength(CHART_POINTS)
    const before = points.filter((p) => p.seq <= 4 * CHART_POINTS + 100)
    expect(before.every((p) => p.state === 'merged')).toBe(true)
    expect(before).toHaveLength(400) // every tenth of the 4,000 verified before the latest (seqs 101 to 4,100)
    expect(points.map((p) => p.seq)).toEqual([...points.map((p) => p.seq)].sort((a, b) => a - b))
    // Merged ones are capped too.
    const allMerged = candidates.map((c) => ({ ...c, state: 'merged' as const }))
    expect(chartPoints(allMerged).points).toHaveLength(2 * CHART_POINTS)
  })

  it('steps the best from the first baseline through merges, a revert back to an earlier best taking its metric', () => {
    const merges = [merge(0, 'initial', 'a', null, 1), merge(1, 'merge', 'b', 0.8, 2), merge(2, 'revert', 'a', null, 3)]
    expect(bestLine(merges, 1)).toEqual([{ time: 1, metric: 1, commit: 'a' }, { time: 2, metric: 0.8, commit: 'b' }, { time: 3, metric: 1, commit: 'a' }])
    // No baseline measured yet: the initial commit has no point.
    expect(bestLine(merges.slice(0, 2), null)).toEqual([{ time: 2, metric: 0.8, commit: 'b' }])
  })
})
