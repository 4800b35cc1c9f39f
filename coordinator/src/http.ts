import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { Coordinator } from './coordinator.ts'
import { layout } from './site/layout.ts'
import { h } from './site/html.ts'
import { clientKey, rateLimit, type RateLimitOptions } from './site/middleware/rate-limit/index.ts'
import { jsonError, readOnly, securityHeaders, send } from './site/respond.ts'
import { registerSite } from './site/routes.ts'
import type { EventStreams, SseOptions } from './site/sse.ts'

export interface HttpOptions {
  /** Per-client token bucket (default: bursts of 120, 2 requests/s); false turns it off. */
  rateLimit?: Partial<RateLimitOptions> | false
  /** Live event streams (default: SSE_DEFAULTS). */
  sse?: Partial<SseOptions>
}

/** 500 live streams at most, 4 from one client, a ping every 15 s, a reconnect after 30 min. */
export const SSE_DEFAULTS: SseOptions = { maxStreams: 500, maxStreamsPerClient: 4, pingMs: 15_000, maxAgeMs: 30 * 60_000 }

const streamsOf = new WeakMap<Hono, EventStreams>()

/** Ends the app's open event streams, so that a server stopping does not wait on them. */
export function closeEventStreams (app: Hono): void {
  streamsOf.get(app)?.closeAll()
}

/**
 * The coordinator's HTTP surface: `/api/status`, the public site and its API
 * (see docs/site.md and docs/api.md). Read-only, rate-limited, every stranger's
 * text escaped. Errors are answered once, here, never with a stack trace.
 */
export function createHttpApp (coordinator: Coordinator, opts: HttpOptions = {}): Hono {
  const app = new Hono()
  app.use(securityHeaders)
  if (opts.rateLimit !== false) app.use(rateLimit({ burst: 120, perSecond: 2, ...opts.rateLimit }))
  app.use(readOnly)

  app.get('/api/status', (c) => {
    c.header('Cache-Control', 'no-cache')
    return c.json(coordinator.status())
  })

  // Streams are counted per client by the rate limit's own key (a proxy's header, where one is configured).
  const key = (opts.rateLimit === false ? undefined : opts.rateLimit?.key) ?? clientKey
  const streams = registerSite(app, coordinator, { ...SSE_DEFAULTS, ...opts.sse }, key)
  streamsOf.set(app, streams)

  app.onError((err, c) => {
    const status = err instanceof HTTPException ? err.status : 500
    const message = err instanceof HTTPException ? err.message : 'the coordinator failed to answer this request'
    if (c.req.path.startsWith('/api/')) return jsonError(c, status, err instanceof HTTPException ? 'HTTPException' : 'InternalError', message)
    return send(c, layout({ title: 'Error', cause: coordinator.manifest.name, path: c.req.path, body: h`<h1>Something went wrong</h1><p class="lead">${message}.</p>` }), 'text/html; charset=utf-8', { status })
  })
  return app
}
