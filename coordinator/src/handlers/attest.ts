import { logger } from '@libp2p/logger'
import type { AttestReply, AttestRequest, Handler } from '@autoresearch/protocol'
import type { z } from 'zod'
import type { Coordinator } from '../coordinator.ts'
import { attest } from '../verification.ts'

const log = logger('autoresearch:coordinator:attest')

export type AttestDeps = Pick<Coordinator, 'serially' | 'verificationContext' | 'recover' | 'rebaseStale' | 'announceIfMoved' | 'emit' | 'speculation' | 'watchHold'>

/**
 * `attest`: a verifier's signed measurements of a job. The decision (and a merge, with
 * its ref write) runs in the serial queue; a merge is then announced.
 */
export function attestHandler (c: AttestDeps): Handler<z.infer<typeof AttestRequest>> {
  return async (req, { signal }): Promise<AttestReply> => {
    const outcome = await c.serially(async () => {
      const result = attest(c.verificationContext(), req.body, req.signature)
      if (result.onBest !== undefined) c.speculation?.record(result.onBest)
      // A pass held for a larger group (rules/hold.ts): the timer takes a turn when the wait may end.
      if (result.heldUntil !== undefined) c.watchHold(result.heldUntil)
      if (result.merged !== undefined) await c.recover()
      // The verdict is stored: a carry that fails (a full disk) is the lease turns' to try again, not this reply's.
      if (result.passedOnStaleParent !== undefined || result.split !== undefined) await c.rebaseStale().catch((err) => { log.error('carrying after the verdict on #%d failed, left for the next turn: %e', result.verdict.candidateSeq, err) })
      return result
    }, { signal })
    c.emit('event', { type: 'verdict', verdict: outcome.verdict })
    const merged = outcome.merged
    if (merged !== undefined) {
      c.emit('event', { type: 'merged', mergeSeq: merged.mergeIndex, candidateSeq: merged.candidate.seq, commit: merged.candidate.commit_oid, metric: merged.metric, baselineMetric: merged.baselineMetric })
      // Not tied to this request: the merge is made, so it is announced even if the verifier has gone.
      await c.serially(async () => {
        await c.announceIfMoved()
        // Candidates that passed on top of this one (speculation) merge now, each announced after it;
        // the others left on the old best are carried by the lease turns, a batch at a time.
        if (c.speculation !== undefined) await c.rebaseStale(0).catch((err) => { log.error('merging what passed on top of #%d failed, left for the next turn: %e', merged.candidate.seq, err) })
      })
    }
    const { candidateSeq, state, meanImprovement, reason } = outcome.verdict
    return { ok: true, verdict: { candidateSeq, state, meanImprovement, reason } }
  }
}
