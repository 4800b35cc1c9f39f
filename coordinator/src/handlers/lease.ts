import type { Handler, Job, LeaseReply, LeaseRequest, WarmSeeds } from '@autoresearch/protocol'
import type { z } from 'zod'
import type { Coordinator } from '../coordinator.ts'
import { splittable } from '../rules/parts.ts'
import { warmByReuse, warmRound } from '../seeds.ts'
import { leaseOutcome, type VerificationContext } from '../verification.ts'
import { countsNow } from '../verifier-trust.ts'
import type { WarmRoster } from '../warm-roster.ts'
import { MAX_HOLD_MS } from './lease-holds.ts'

/** Stale candidates rebased per turn of the serial queue. */
export const STALE_BATCH = 8

/** When a verifier that did not ask to wait (or waited the whole cap) should ask again. */
const RETRY_AFTER_MS = 2000

export type LeaseDeps = Pick<Coordinator, 'serially' | 'rebaseStale' | 'carryRest' | 'verificationContext' | 'emit' | 'leaseHolds' | 'leaseExpiry' | 'warmRoster' | 'speculate' | 'speculation' | 'batch' | 'holderWaits'>

/**
 * The seeds of the next first round on the current best that its job surely runs (seeds.ts
 * `warmRound`), for a key that counts as a verifier and that the roster wants warm: it may run
 * those baselines before any job comes.
 * They are never sent to anyone else (docs/trust.md, seeds).
 */
function warmSeeds (ctx: VerificationContext, roster: WarmRoster, publicKey: string, ahead: boolean): WarmSeeds | undefined {
  if (!countsNow(ctx, publicKey)) return undefined
  const best = ctx.bestCommit()
  const alreadyWarm = (): string[] => warmByReuse(ctx.store, best, ctx.manifest.verification, ctx.verifierMode, (key) => countsNow(ctx, key))
  if (!roster.mayWarm(best, publicKey, { quorum: ctx.manifest.verification.quorum, split: splittable(ctx.verifierMode, ctx.manifest.verification), ahead }, alreadyWarm)) return undefined
  return { best, seeds: warmRound(ctx.store, best, ctx.manifest.verification, ctx.verifierMode) }
}

/**
 * `lease`: the next verification job for this verifier, or none and when to ask again.
 * Candidates left on an old best are rebased first, in batches, each its own turn in the
 * queue, so submissions are taken in between. With `waitMs` a key that counts is held (capped,
 * and counted per peer and in all) until a job exists, the cap passes, or the coordinator stops;
 * its first look (signature, standing, hardware class: rules/hardware-class.ts) comes before
 * any wait, so a verifier of the wrong class is refused at once and never held.
 */
export function leaseHandler (c: LeaseDeps): Handler<z.infer<typeof LeaseRequest>> {
  return async (req, { signal, remotePeer }): Promise<LeaseReply> => {
    // Only a key that counts is held: keys on probation cost nothing to make, and must not fill the holds.
    const holdMs = countsNow(c.verificationContext(), req.body.publicKey) && req.body.help !== true ? Math.min(req.body.waitMs ?? 0, MAX_HOLD_MS) : 0
    const deadline = Date.now() + holdMs
    const hold = holdMs > 0 ? c.leaseHolds.enter(remotePeer) : undefined
    try {
      for (;;) {
        const since = c.leaseHolds.generation
        let job: Job | null = null
        let forOthers = false
        let warm: WarmSeeds | undefined
        // This look may end another request's wait for a holder (rules/holder.ts).
        let endsHolds = false
        for (let remaining = 1; job === null && remaining > 0;) {
          ({ job, forOthers, remaining, warm, endsHolds } = await c.serially(async () => {
            const remaining = await c.rebaseStale(STALE_BATCH, { untilCarried: true })
            const ctx = c.verificationContext()
            // Only keys that count are recorded: keys on probation cost nothing to make (holder-waits.ts keeps a bounded number).
            const endsHolds = countsNow(ctx, req.body.publicKey) && c.holderWaits.looked(req.body.publicKey, Date.now())
            // The other held requests without a job share a split round with this one.
            const verifiersIdle = c.leaseHolds.idle - (hold === undefined ? 0 : 1)
            const opts = { verifiersWaiting: c.leaseHolds.held, verifiersIdle, holders: c.holderWaits }
            // With speculation declared, work on top of a candidate in flight comes first (speculate.ts).
            const speculative = await c.speculate(req.body, req.signature, opts)
            // With batches declared, queued candidates on the best that combine are verified as one (batch.ts).
            if (speculative === null) await c.batch(req.body.publicKey)
            const { job, forOthers } = speculative ?? leaseOutcome(ctx, req.body, req.signature, opts)
            if (job !== null) {
              // What this turn left on the old best is carried next, in turns of its own (its submitters learn soon if theirs went stale).
              if (remaining > 0) c.carryRest()
              hold?.served()
              // A speculative job is measured against a candidate, not the best: the roster keeps to the best.
              if (job.baseline === ctx.bestCommit()) c.warmRoster.served(job.baseline, req.body.publicKey, job.candidateSeq)
            }
            return { job, forOthers, remaining, endsHolds, warm: req.body.warm === true ? warmSeeds(ctx, c.warmRoster, req.body.publicKey, c.speculation?.open === true) : undefined }
          }, { signal }))
        }
        // The coordinator wakes as many held requests as may take the job back if its lease runs out.
        if (job !== null) c.leaseExpiry.watch(job.leaseExpiresAt)
        // Requests held back for this holder look again: it has taken its job or found none it may take, and what it left is theirs (rules/holder.ts).
        if (endsHolds) c.holderWaits.lookAgain()
        // Work left for others (its own candidate, the rest of a split round) goes to a request that has not looked since.
        if (forOthers) c.leaseHolds.relay()
        const now = Date.now()
        // A verifier that can warm hears of a new best at once, with its pool.
        const newPool = warm !== undefined && warm.best !== req.body.warmBest
        if (job !== null || newPool || now >= deadline) {
          if (job !== null) c.emit('event', { type: 'leased', jobId: job.jobId, candidateSeq: job.candidateSeq, verifier: req.body.publicKey })
          return { ok: true, job, retryAfterMs: job !== null || holdMs > 0 ? 0 : RETRY_AFTER_MS, ...(warm === undefined ? {} : { warm }) }
        }
        await c.leaseHolds.wait(deadline - now, since, { signal, warm: warm !== undefined && warm.best === req.body.warmBest, verifier: req.body.publicKey })
        // The coordinator is stopping: no further turn in its queue.
        if (c.leaseHolds.closed) return { ok: true, job: null, retryAfterMs: RETRY_AFTER_MS }
      }
    } finally {
      hold?.release()
      // A request that was woken and went away before it looked passes its wake on.
      if (signal?.aborted === true) c.leaseHolds.relay()
    }
  }
}
