/** The longest a `Retry-After` is honoured; a server asking for more is asked again after this. */
export const MAX_RETRY_AFTER_MS = 120_000

/** What to do with a failed request to a model's endpoint. */
export type RetryDecision = { retryInMs: number } | { giveUp: string }

/**
 * Whether a request that failed is worth sending again, and when: a rate limit (429) and a
 * server's trouble (5xx), a timeout and an endpoint that cannot be reached are passing;
 * any other answer (a wrong key, a wrong model name: 4xx) would fail the same way again.
 * A `Retry-After` (seconds, or an HTTP date) is honoured up to MAX_RETRY_AFTER_MS; otherwise
 * the wait doubles from `baseMs` per retry. After `retries` retries it gives up.
 */
export function retryDecision (failure: { status?: number, retryAfter?: string | null }, retry: number, opts: { retries: number, baseMs: number, now?: number }): RetryDecision {
  const { status } = failure
  const passing = status === undefined || status === 429 || status >= 500
  if (!passing) return { giveUp: `HTTP ${status} is not a passing failure` }
  if (retry >= opts.retries) return { giveUp: `still failing after ${opts.retries} retries` }
  const asked = retryAfterMs(failure.retryAfter, opts.now ?? Date.now())
  return { retryInMs: Math.min(asked ?? opts.baseMs * 2 ** retry, MAX_RETRY_AFTER_MS) }
}

/** A `Retry-After` header in milliseconds from `now`; undefined when absent or unreadable. */
export function retryAfterMs (header: string | null | undefined, now: number): number | undefined {
  if (header === null || header === undefined || header.trim() === '') return undefined
  const value = header.trim()
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}
