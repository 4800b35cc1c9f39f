import type { Manifest } from '@autoresearch/protocol'
import { queueOrder } from '../../rules/queue-order.ts'
import type { CandidateSummary } from './candidates.ts'

export interface QueueView {
  pending: CandidateSummary[]
  /** The latest DECIDED_SHOWN merged candidates, latest first; `/api/candidates?state=merged` pages through all. */
  merged: CandidateSummary[]
  mergedTotal: number
  /** The latest DECIDED_SHOWN rejected, stale, rebased and reverted ones, latest first. */
  closed: CandidateSummary[]
  closedTotal: number
}

/** Decided candidates a queue view lists of each kind: the page and the API stay one size however long the cause has run. */
export const DECIDED_SHOWN = 200

/** Pending candidates in lease order (those being verified first), then the latest decided ones. */
export function queue (manifest: Manifest, all: readonly CandidateSummary[]): QueueView {
  const pending = all.filter((c) => c.state === 'queued' || c.state === 'verifying' || c.state === 'passed')
  const verifying = pending.filter((c) => c.state !== 'queued')
  const queued = queueOrder(manifest, pending.filter((c) => c.state === 'queued').map((c) => ({ seq: c.seq, claimed_metric: c.claimedMetric, c })))
  const merged: CandidateSummary[] = []
  const closed: CandidateSummary[] = []
  let mergedTotal = 0
  let closedTotal = 0
  for (let i = all.length - 1; i >= 0; i--) {
    const c = all[i] as CandidateSummary
    if (c.state === 'merged') {
      if (mergedTotal++ < DECIDED_SHOWN) merged.push(c)
    } else if (c.state !== 'queued' && c.state !== 'verifying' && c.state !== 'passed') {
      if (closedTotal++ < DECIDED_SHOWN) closed.push(c)
    }
  }
  return { pending: [...verifying, ...queued.map((q) => q.c)], merged, mergedTotal, closed, closedTotal }
}
