import type { Manifest } from '@autoresearch/protocol'
import { queueOrder } from '../../rules/queue-order.ts'
import type { CandidateSummary } from './candidates.ts'

export interface QueueView { pending: CandidateSummary[], merged: CandidateSummary[], closed: CandidateSummary[] }

/** Pending candidates in lease order (those being verified first), then the decided ones, latest first. */
export function queue (manifest: Manifest, all: CandidateSummary[]): QueueView {
  const verifying = all.filter((c) => c.state === 'verifying' || c.state === 'passed')
  const queued = queueOrder(manifest, all.filter((c) => c.state === 'queued').map((c) => ({ seq: c.seq, claimed_metric: c.claimedMetric, c })))
  const latestFirst = [...all].reverse()
  return {
    pending: [...verifying, ...queued.map((q) => q.c)],
    merged: latestFirst.filter((c) => c.state === 'merged'),
    closed: latestFirst.filter((c) => c.state !== 'merged' && c.state !== 'queued' && c.state !== 'verifying' && c.state !== 'passed')
  }
}
