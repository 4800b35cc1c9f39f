import {
  assertSignature, BannedError, InvalidMessageError, QuotaExceededError, StaleMessageError, ReplayedNonceError, UnknownParentError, WrongCauseError,
  type ClaimBody, type ClaimReply, type HypothesesBody, type Manifest, type ReportBatchBody, type SignatureDomain
} from '@autoresearch/protocol'
import { editKey, hypothesisKey, type Claims } from './claims.ts'
import { assertFresh, CLOCK_SKEW_MS } from './intake.ts'
import { REPORT_RATE, takeReports, type Bucket, type RateLimits } from './rules/report-rate.ts'
import type { Store } from './store/index.ts'

/** Identities whose buckets are remembered; past it the least recently seen are forgotten (a forgotten bucket starts full). */
const MAX_BUCKETS = 100_000

/** Hypotheses one identity may post per minute, and at once: a planner posts a handful per round. */
export const HYPOTHESIS_RATE = { perMinute: 30, burst: 60 }

/**
 * Identities' worth of allowance one address gets (an IPv4 address, an IPv6 /64: `addressKey`):
 * keys are free, so without it one machine could store without bound by making keys. A lab
 * behind one NAT shares it (`sharedPerAddress` in config.json).
 */
export const SHARED_PER_ADDRESS = 10

/** An allowance of something shared (reports; claims and hypotheses) per identity or per address, in memory: a restart refills them. */
export class ReportRate {
  readonly limits: RateLimits
  readonly #what: string
  readonly #who: string
  readonly #buckets = new Map<string, Bucket>()

  constructor (limits: Partial<RateLimits> = {}, what = 'experiments', who = 'this identity') {
    this.limits = { ...REPORT_RATE, ...limits }
    this.#what = what
    this.#who = who
  }

  /** The same allowance `times` over, for many senders together (an address's). */
  times (n: number, who: string): ReportRate {
    return new ReportRate({ perMinute: this.limits.perMinute * n, burst: this.limits.burst * n }, this.#what, who)
  }

  /** Takes `n` from `key`'s bucket, or throws QuotaExceededError saying when to send again. */
  take (key: string, n: number, now: number): void {
    const t = takeReports(this.#buckets.get(key), n, now, this.limits)
    this.#buckets.delete(key)
    this.#buckets.set(key, t.bucket)
    if (this.#buckets.size > MAX_BUCKETS) this.#buckets.delete(this.#buckets.keys().next().value as string)
    if (!t.ok) {
      const when = Number.isFinite(t.retryAfterMs) ? `send them again in ${Math.ceil(t.retryAfterMs / 1000)} s` : `send at most ${this.limits.burst} at once`
      throw new QuotaExceededError(`${this.#who} may send ${this.limits.perMinute} ${this.#what} per minute (${this.limits.burst} at once); ${when}`)
    }
  }
}

export interface SharedContext {
  causeId: string
  store: Pick<Store, 'nonceSeen' | 'identity' | 'isMergedCommit' | 'insertReports' | 'wasTried' | 'nearExperiments' | 'insertHypotheses' | 'hypothesis' | 'hypothesisTested'>
  /** Reports' allowance. */
  rate: ReportRate
  /**
   * Claims' allowance: a worker claims each proposal before it runs it (and another after a
   * refusal), so at least one per experiment it reports; the coordinator gives claims the
   * reports' allowance. Sharing the hypotheses' smaller one, workers of a cause whose runs take
   * seconds spent it within a minute and ran their edits unclaimed (docs/benchmarks.md, "An
   * open candidate's edit").
   */
  claimRate: ReportRate
  /** Hypotheses' allowance. */
  planRate: ReportRate
  claims: Claims
  manifest: Pick<Manifest, 'collaboration'>
  /** The sender's address (`addressKey`; null for a transport without one), and the per-address allowances. */
  address: string | null
  addressRate?: ReportRate
  addressClaimRate?: ReportRate
  addressPlanRate?: ReportRate
}

/** Takes from the sender's address's allowance (when it has an address), then from its identity's. */
function take (ctx: SharedContext, rates: [ReportRate | undefined, ReportRate], publicKey: string, n: number, now: number): void {
  if (ctx.address !== null) rates[0]?.take(ctx.address, n, now)
  rates[1].take(publicKey, n, now)
}

/** The checks every shared message passes, cheapest first: cause, clock, signature, nonce (when it is kept), ban. */
function assertShared (ctx: SharedContext, domain: SignatureDomain, body: { causeId: string, publicKey: string, time: number, nonce: string }, signature: string, now: number, nonce: boolean): void {
  if (body.causeId !== ctx.causeId) throw new WrongCauseError(`this coordinator hosts ${ctx.causeId}, not ${body.causeId}`)
  assertFresh(body.time, now)
  assertSignature(domain, body, signature, body.publicKey)
  if (nonce && ctx.store.nonceSeen(body.publicKey, body.nonce)) throw new ReplayedNonceError(`nonce ${body.nonce} was already used by this identity`)
  if (ctx.store.identity(body.publicKey).banned === 1) throw new BannedError(`identity ${body.publicKey.slice(0, 16)}… is banned from this cause`)
}

function assertBest (ctx: SharedContext, best: string): void {
  if (!ctx.store.isMergedCommit(best)) throw new UnknownParentError(`${best} was never a best commit of ${ctx.causeId}; use the best you fetched`)
}

/**
 * Intake of a signed batch of experiment reports: cheap checks only (no pack, no sandbox),
 * the signature before anything is charged to the key, then one transaction. Reports are
 * information and never touch the best; each must name a commit that was a best here. What
 * they tested is no longer claimed.
 */
export function acceptReports (ctx: SharedContext, body: ReportBatchBody, signature: string, now = Date.now()): { accepted: number, firstSeq: number } {
  assertShared(ctx, 'experiment-reports', body, signature, now, true)
  // A report may wait offline in the worker's queue, so it may be old, never from the future.
  if (body.reports.some((r) => r.time > now + CLOCK_SKEW_MS)) throw new StaleMessageError(`a report's time is more than ${CLOCK_SKEW_MS / 60000} minutes ahead of the coordinator's clock; check your system time`)
  for (const best of new Set(body.reports.map((r) => r.best))) assertBest(ctx, best)
  take(ctx, [ctx.addressRate, ctx.rate], body.publicKey, body.reports.length, now)
  const firstSeq = ctx.store.insertReports({ worker: body.publicKey, hardware: body.hardware?.class ?? null, nonce: body.nonce, receivedAt: now, reports: body.reports })
  for (const r of body.reports) {
    ctx.claims.release(editKey(r.best, r.diffHash))
    if (r.hypothesis !== undefined) ctx.claims.release(hypothesisKey(r.hypothesis))
  }
  return { accepted: body.reports.length, firstSeq }
}

/**
 * A claim on an edit of a best (its normalized hash) or on a hypothesis, for the manifest's
 * claim time. Not granted: the edit was tried on that best already, a hypothesis was tested,
 * or another worker holds it. Either way the answer names near-duplicates (same files, same
 * constants, same direction) other workers tried or claimed on the best (the worker's own
 * runs are in its agent's prompt already). With `release` the signer gives its own claim on
 * the edit back instead. No nonce is kept: a replayed claim only renews its signer's own, and
 * a replayed release frees an edit its signer gave up once (at worst, a run made twice).
 */
export function acceptClaim (ctx: SharedContext, body: ClaimBody, signature: string, now = Date.now()): Omit<ClaimReply, 'ok'> {
  if (body.diffHash === undefined && body.hypothesis === undefined) throw new InvalidMessageError('a claim names an edit (diffHash) or a hypothesis, or both')
  if (body.release === true && body.diffHash === undefined) throw new InvalidMessageError('a release names the edit (diffHash) whose claim it gives back')
  assertShared(ctx, 'claim', body, signature, now, false)
  assertBest(ctx, body.best)
  take(ctx, [ctx.addressClaimRate, ctx.claimRate], body.publicKey, 1, now)
  if (body.release === true && body.diffHash !== undefined) {
    ctx.claims.releaseOwn(editKey(body.best, body.diffHash), body.publicKey)
    return { granted: false, expiresAt: now, reason: 'released', near: [] }
  }
  const ttlMs = ctx.manifest.collaboration.claimMinutes * 60_000
  const near = body.nearKey === undefined
    ? []
    : [
        ...ctx.store.nearExperiments(body.best, body.nearKey, 20).filter((r) => r.diff_hash !== body.diffHash && r.worker !== body.publicKey).slice(0, 10).map((r) => ({ description: r.description, status: r.status, metric: r.metric, worker: r.worker })),
        ...ctx.claims.near(body.best, body.nearKey, body.publicKey, now).slice(0, 10).map((c) => ({ description: c.description, status: 'claimed' as const, metric: null, worker: c.worker }))
      ]
  const refuse = (reason: string, expiresAt = now): Omit<ClaimReply, 'ok'> => ({ granted: false, expiresAt, reason, near })
  if (body.diffHash !== undefined && ctx.store.wasTried(body.best, body.diffHash)) return refuse('this edit was already tried on this best; choose another')
  if (body.hypothesis !== undefined) {
    if (ctx.store.hypothesis(body.hypothesis) === undefined) return refuse(`there is no hypothesis #${body.hypothesis}`)
    if (ctx.store.hypothesisTested(body.hypothesis)) return refuse(`hypothesis #${body.hypothesis} was tested already`)
  }
  const keys = [...(body.diffHash === undefined ? [] : [editKey(body.best, body.diffHash)]), ...(body.hypothesis === undefined ? [] : [hypothesisKey(body.hypothesis)])]
  const wanted = { worker: body.publicKey, best: body.best, description: body.description, nearKey: body.nearKey ?? null }
  for (const key of keys) {
    const decision = ctx.claims.claim(key, wanted, now, ttlMs)
    if (!decision.granted) return refuse(`another worker (${decision.holder.worker.slice(0, 16)}…) claimed it until ${new Date(decision.holder.expiresAt).toISOString()}: "${decision.holder.description}"; choose another`, decision.holder.expiresAt)
  }
  return { granted: true, expiresAt: now + ttlMs, reason: null, near }
}

/** A planner's hypotheses: signed, rate-limited, stored (an open text once). */
export function acceptHypotheses (ctx: SharedContext, body: HypothesesBody, signature: string, now = Date.now()): number[] {
  assertShared(ctx, 'hypotheses', body, signature, now, true)
  assertBest(ctx, body.best)
  take(ctx, [ctx.addressPlanRate, ctx.planRate], body.publicKey, body.hypotheses.length, now)
  return ctx.store.insertHypotheses({ author: body.publicKey, best: body.best, texts: body.hypotheses, nonce: body.nonce, at: now })
}
