import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { Coordinator } from './coordinator.ts'

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** The coordinator's HTTP surface. Errors become JSON once, here, never a stack trace. */
export function createHttpApp (coordinator: Coordinator): Hono {
  const app = new Hono()

  app.get('/api/status', (c) => {
    c.header('Cache-Control', 'no-cache')
    return c.json(coordinator.status())
  })

  app.get('/', (c) => {
    const s = coordinator.status()
    const metric = s.best.metric === null ? 'not yet measured' : String(s.best.metric)
    return c.html(`<!doctype html><meta charset="utf-8"><title>${escapeHtml(s.cause)} · autoresearch</title>
<h1>${escapeHtml(s.cause)}</h1>
<p>Best ${escapeHtml(s.metric.name)}: <b>${escapeHtml(metric)}</b> at commit <code>${s.best.commit}</code> after ${s.merges} verified merge(s).</p>
<p>Join with: <code>npx autoresearch-worker --coordinator ${escapeHtml(s.multiaddrs[0] ?? '&lt;multiaddr&gt;')}</code></p>
<p>Data: <a href="/api/status">/api/status</a></p>`)
  })

  app.notFound((c) => c.json({ error: { name: 'NotFound', message: `no route for ${c.req.path}` } }, 404))
  app.onError((err, c) => {
    if (err instanceof HTTPException) return c.json({ error: { name: 'HTTPException', message: err.message } }, err.status)
    return c.json({ error: { name: 'InternalError', message: 'the coordinator failed to answer this request' } }, 500)
  })
  return app
}
