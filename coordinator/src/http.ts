import { Hono } from 'hono'
import type { Coordinator } from './coordinator.ts'
import { createGitApp, type GitHttpOptions } from './git-http/routes.ts'
import { createApi } from './site/api.ts'
import { RateLimited } from './site/errors.ts'
import { clientKey, rateLimit, type RateLimitOptions } from './site/middleware/rate-limit/index.ts'
import { SiteQueries } from './site/queries/index.ts'
import { registerPages } from './site/routes.ts'
import type { EventStreams, SseOptions } from './site/sse.ts'

export interface HttpOptions {
  /** Per-client token bucket (default: bursts of 120, 2 requests/s); false turns it off. */
  rateLimit?: Partial<RateLimitOptions> | false
  /** Live event streams (default: SSE_DEFAULTS). */
  sse?: Partial<SseOptions>
  /** `git clone http://HOST:PORT/cause.git` (git-http/): its limits. */
  git?: Pick<GitHttpOptions, 'limits' | 'git'>
}

/** 500 live streams at most, 4 from one client, a ping every 15 s, a reconnect after 30 min. */
export const SSE_DEFAULTS: SseOptions = { maxStreams: 500, maxStreamsPerClient: 4, pingMs: 15_000, maxAgeMs: 30 * 60_000 }

const partsOf = new WeakMap<Hono, { streams: EventStreams, queries: SiteQueries }>()

/** Ends the app's open event streams, so that a server stopping does not wait on them. */
export function closeEventStreams (app: Hono): void {
  partsOf.get(app)?.streams.closeAll()
}

/**
 * Reads what the site's first look needs in short slices, off any request's path
 * (SiteQueries.warm): a server starts it once it listens, and aborts it before it stops.
 */
export async function warmSite (app: Hono, opts: { signal?: AbortSignal } = {}): Promise<void> {
  await partsOf.get(app)?.queries.warm(opts)
}

/**
 * The coordinator's HTTP surface: the public site, under /api its JSON, CSV and TSV
 * with `/api/status` (see docs/site.md and docs/api.md), and under /cause.git the cause's
 * repository for git clients (git-http/). Read-only, rate-limited, every stranger's text
 * escaped. Each of the three apps answers its own errors, once, in its onError: JSON under
 * /api, plain text under /cause.git, a page elsewhere, never a stack trace.
 */
export function createHttpApp (coordinator: Coordinator, opts: HttpOptions = {}): Hono {
  const queries = new SiteQueries(coordinator)
  // One bucket per client for the whole site; each app answers RateLimited in its own way.
  const limit = opts.rateLimit === false
    ? undefined
    : rateLimit({ burst: 120, perSecond: 2, ...opts.rateLimit, onLimited: (_c, retryAfter) => { throw new RateLimited(retryAfter) } })
  // Streams and git fetches are counted per client by the rate limit's own key (a proxy's header, where one is configured).
  const key = (opts.rateLimit === false ? undefined : opts.rateLimit?.key) ?? clientKey
  const { api, streams } = createApi(coordinator, queries, { sse: { ...SSE_DEFAULTS, ...opts.sse }, clientKey: key, limit })

  const app = new Hono()
  app.route('/api', api)
  app.route('/cause.git', createGitApp(coordinator.paths.gitdir, { ...opts.git, limit, key }))
  registerPages(app, coordinator, queries, limit)
  partsOf.set(app, { streams, queries })
  return app
}
