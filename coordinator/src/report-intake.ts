import {
  assertSignature, BannedError, QuotaExceededError, ReplayedNonceError, UnknownParentError, WrongCauseError, type ReportBatchBody
} from '@autoresearch/protocol'
import { assertFresh } from './intake.ts'
import { REPORT_RATE, takeReports, type Bucket, type RateLimits } from './rules/report-rate.ts'
import type { Store } from './store/index.ts'

/** Identities whose buckets are remembered; past it the least recently seen are forgotten (a forgotten bucket starts full). */
const MAX_BUCKETS = 100_000

/** Each identity's report bucket, in memory (a restart refills them: reports cost no GPU time). */
export class ReportRate {
  readonly limits: RateLimits
  readonly #buckets = new Map<string, Bucket>()

  constructor (limits: Partial<RateLimits> = {}) {
    this.limits = { ...REPORT_RATE, ...limits }
  }

  /** Takes `n` reports from `key`'s bucket, or throws QuotaExceededError saying when to send again. */
  take (key: string, n: number, now: number): void {
    const t = takeReports(this.#buckets.get(key), n, now, this.limits)
    this.#buckets.delete(key)
    this.#buckets.set(key, t.bucket)
    if (this.#buckets.size > MAX_BUCKETS) this.#buckets.delete(this.#buckets.keys().next().value as string)
    if (!t.ok) {
      const when = Number.isFinite(t.retryAfterMs) ? `send them again in ${Math.ceil(t.retryAfterMs / 1000)} s` : `send at most ${this.limits.burst} at once`
      throw new QuotaExceededError(`this identity may report ${this.limits.perMinute} experiments per minute (${this.limits.burst} at once); ${when}`)
    }
  }
}

export interface ReportContext {
  causeId: string
  store: Pick<Store, 'nonceSeen' | 'identity' | 'isMergedCommit' | 'insertReports'>
  rate: ReportRate
}

/**
 * Intake of a signed batch of experiment reports: cheap checks only (no pack, no sandbox),
 * the signature before anything is charged to the key, then one transaction. Reports are
 * information and never touch the best; each must name a commit that was a best here.
 */
export function acceptReports (ctx: ReportContext, body: ReportBatchBody, signature: string, now = Date.now()): { accepted: number, firstSeq: number } {
  const { store } = ctx
  if (body.causeId !== ctx.causeId) throw new WrongCauseError(`this coordinator hosts ${ctx.causeId}, not ${body.causeId}`)
  assertFresh(body.time, now)
  assertSignature('experiment-reports', body, signature, body.publicKey)
  if (store.nonceSeen(body.publicKey, body.nonce)) throw new ReplayedNonceError(`nonce ${body.nonce} was already used by this identity`)
  const identity = store.identity(body.publicKey)
  if (identity.banned === 1) throw new BannedError(`identity ${body.publicKey.slice(0, 16)}… is banned from this cause`)
  for (const best of new Set(body.reports.map((r) => r.best))) {
    if (!store.isMergedCommit(best)) throw new UnknownParentError(`${best} was never a best commit of ${ctx.causeId}; report experiments on the best you fetched`)
  }
  ctx.rate.take(body.publicKey, body.reports.length, now)
  const firstSeq = store.insertReports({ worker: body.publicKey, hardware: body.hardware?.class ?? null, nonce: body.nonce, receivedAt: now, reports: body.reports })
  return { accepted: body.reports.length, firstSeq }
}
