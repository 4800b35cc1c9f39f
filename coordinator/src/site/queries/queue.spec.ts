import { describe, expect, it } from 'vitest'
import { parseManifest } from '@autoresearch/protocol'
import type { CandidateState } from '../../store/index.ts'
import type { CandidateSummary } from './candidates.ts'
import { DECIDED_SHOWN, queue } from './queue.ts'

const manifest = parseManifest({
  name: 'toy', editable: ['train.py'], train: { command: ['python', 'train.py'] }, metric: { name: 'loss', direction: 'minimize', stdoutPattern: 'loss=(\\S+)' }, verification: { minImprovement: 0.01 }
})

const summary = (seq: number, state: CandidateState, claimedMetric = 1): CandidateSummary => ({
  seq, commit: 'c', parent: 'p', submitter: 'k', submitterName: null, team: null, originSeq: null, state, reason: null, description: '',
  claimedMetric, verifiedMetric: null, baselineMetric: null, meanImprovement: null, claimContradicted: false, receivedAt: seq, verifiedAt: null
})

describe('queue view', () => {
  it('lists the candidates being verified first, then the queued ones in lease order', () => {
    // #3 claims only a hair better than #1, so it does not jump it; #4 does.
    const all = [summary(1, 'queued', 0.5), summary(2, 'verifying'), summary(3, 'queued', 0.495), summary(4, 'queued', 0.3)]
    expect(queue(manifest, all).pending.map((c) => c.seq)).toEqual([2, 4, 1, 3])
  })

  it('lists accepted and closed candidates latest first', () => {
    const all = [summary(1, 'merged'), summary(2, 'rejected'), summary(3, 'merged'), summary(4, 'stale'), summary(5, 'reverted'), summary(6, 'queued')]
    const q = queue(manifest, all)
    expect(q.merged.map((c) => c.seq)).toEqual([3, 1])
    expect(q.closed.map((c) => c.seq)).toEqual([5, 4, 2])
    expect([q.mergedTotal, q.closedTotal]).toEqual([2, 3])
  })

  it('lists the latest DECIDED_SHOWN of each and counts them all, however long the cause has run', () => {
    const all = Array.from({ length: 3 * DECIDED_SHOWN }, (_, i) => summary(i + 1, i % 3 === 0 ? 'merged' : 'rejected'))
    const q = queue(manifest, [...all, summary(all.length + 1, 'queued')])
    expect(q.merged).toHaveLength(DECIDED_SHOWN)
    expect(q.merged[0]?.seq).toBe(all.length - 2)
    expect(q.mergedTotal).toBe(DECIDED_SHOWN)
    expect(q.closed).toHaveLength(DECIDED_SHOWN)
    expect(q.closed[0]?.seq).toBe(all.length)
    expect(q.closedTotal).toBe(2 * DECIDED_SHOWN)
    expect(q.pending.map((c) => c.seq)).toEqual([all.length + 1])
  })
})
