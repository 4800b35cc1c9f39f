import type { Context, MiddlewareHandler } from 'hono'
import { clientPrefix } from '@autoresearch/protocol'

export interface RateLimitOptions {
  /** Requests a client may make at once (bucket size). */
  burst: number
  /** Tokens added back per second. */
  perSecond: number
  /** Buckets kept at most; full (idle) buckets are dropped first. */
  maxClients?: number
  /** The client's key; default: its IP address (an IPv6 address by its /64). */
  key?: (c: Context) => string
  /** The answer when the bucket is empty; default 429 JSON under /api/, text elsewhere. */
  onLimited?: (c: Context, retryAfterSeconds: number) => Response
  now?: () => number
}

interface Bucket { tokens: number, at: number }

// One rule for what counts as one client, shared with the libp2p node's per-address caps.
export { clientPrefix }

/** The TCP peer address under @hono/node-server; 'local' where there is none (app.request in tests). */
export function remoteAddress (c: Context): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined
  return env?.incoming?.socket?.remoteAddress ?? 'local'
}

/** The default client key of every per-client limit on the site (requests and live streams). */
export function clientKey (c: Context): string {
  return clientPrefix(remoteAddress(c))
}

/**
 * A token bucket per client, in memory. Proxy headers (X-Forwarded-For) are not
 * trusted: behind a reverse proxy, pass `key` to read the proxy's header.
 */
export function rateLimit (opts: RateLimitOptions): MiddlewareHandler {
  const buckets = new Map<string, Bucket>()
  const maxClients = opts.maxClients ?? 10_000
  const now = opts.now ?? Date.now
  const key = opts.key ?? clientKey
  const refill = (b: Bucket, t: number): void => {
    b.tokens = Math.min(opts.burst, b.tokens + (t - b.at) / 1000 * opts.perSecond)
    b.at = t
  }
  const evict = (t: number): void => {
    for (const [k, b] of buckets) {
      refill(b, t)
      if (b.tokens >= opts.burst) buckets.delete(k)
    }
    // Still full of busy clients: drop the oldest (Map keeps insertion order).
    while (buckets.size >= maxClients) buckets.delete(buckets.keys().next().value as string)
  }
  return async (c, next) => {
    const t = now()
    const k = key(c)
    let b = buckets.get(k)
    if (b === undefined) {
      if (buckets.size >= maxClients) evict(t)
      b = { tokens: opts.burst, at: t }
      buckets.set(k, b)
    }
    refill(b, t)
    if (b.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - b.tokens) / opts.perSecond))
      if (opts.onLimited !== undefined) return opts.onLimited(c, retryAfter)
      c.header('Retry-After', String(retryAfter))
      c.header('Cache-Control', 'no-store')
      return c.req.path.startsWith('/api/')
        ? c.json({ error: { name: 'RateLimited', message: `too many requests; retry in ${retryAfter} s` } }, 429)
        : c.text(`Too many requests; retry in ${retryAfter} s.\n`, 429)
    }
    b.tokens -= 1
    await next()
  }
}
