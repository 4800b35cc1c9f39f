/**
 * How many experiment reports an identity may send: a token bucket refilled at `perMinute`,
 * holding at most `burst` (a worker that was offline sends its backlog in one go). Reports
 * cost the coordinator one row each and no GPU time, so the bound is generous; it exists
 * so that one key cannot fill the log.
 */
export const REPORT_RATE = { perMinute: 240, burst: 512 }

export interface Bucket { tokens: number, at: number }
export type RateLimits = typeof REPORT_RATE

export type Take = { ok: true, bucket: Bucket } | { ok: false, bucket: Bucket, retryAfterMs: number }

/** Takes `n` tokens from `bucket` (a full one when undefined) at `now`, or says when there will be enough. */
export function takeReports (bucket: Bucket | undefined, n: number, now: number, limits: RateLimits = REPORT_RATE): Take {
  const perMs = limits.perMinute / 60_000
  const tokens = bucket === undefined ? limits.burst : Math.min(limits.burst, bucket.tokens + Math.max(0, now - bucket.at) * perMs)
  if (tokens >= n) return { ok: true, bucket: { tokens: tokens - n, at: now } }
  const retryAfterMs = n > limits.burst ? Infinity : Math.ceil((n - tokens) / perMs)
  return { ok: false, bucket: { tokens, at: now }, retryAfterMs }
}
