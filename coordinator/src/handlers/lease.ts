import type { Handler, Job, LeaseReply, LeaseRequest } from '@autoresearch/protocol'
import type { z } from 'zod'
import type { Coordinator } from '../coordinator.ts'
import { lease } from '../verification.ts'

/** Stale candidates rebased per turn of the serial queue. */
export const STALE_BATCH = 8

export type LeaseDeps = Pick<Coordinator, 'serially' | 'rebaseStale' | 'verificationContext' | 'emit'>

/**
 * `lease`: the next verification job for this verifier, or none and when to ask again.
 * Candidates left on an old best are rebased first, in batches, each its own turn in the
 * queue, so submissions are taken in between.
 */
export function leaseHandler (c: LeaseDeps): Handler<z.infer<typeof LeaseRequest>> {
  return async (req, { signal }): Promise<LeaseReply> => {
    let job: Job | null = null
    for (let remaining = 1; job === null && remaining > 0;) {
      ({ job, remaining } = await c.serially(async () => {
        const remaining = await c.rebaseStale(STALE_BATCH)
        return { job: lease(c.verificationContext(), req.body, req.signature), remaining }
      }, { signal }))
    }
    if (job !== null) c.emit('event', { type: 'leased', jobId: job.jobId, candidateSeq: job.candidateSeq, verifier: req.body.publicKey })
    return { ok: true, job, retryAfterMs: job === null ? 2000 : 0 }
  }
}
