import { createHash } from 'node:crypto'
import type { Context, MiddlewareHandler } from 'hono'

/** Live data: browsers and proxies may reuse it for a few seconds, then revalidate by ETag. */
export const SHORT = 'public, max-age=5'
export const ASSET = 'public, max-age=3600'

const etagOf = (body: string): string => `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`

/** A body with a strong ETag; 304 when the client already has it. */
export function send (c: Context, body: string, contentType: string, opts: { status?: number, cache?: string, headers?: Record<string, string> } = {}): Response {
  const status = opts.status ?? 200
  const headers: Record<string, string> = { 'Content-Type': contentType, 'Cache-Control': opts.cache ?? SHORT, ...opts.headers }
  if (status === 200) {
    const etag = etagOf(body)
    headers.ETag = etag
    const match = c.req.header('If-None-Match')
    if (match !== undefined && match.split(',').map((s) => s.trim().replace(/^W\//, '')).some((t) => t === etag || t === '*')) {
      return c.body(null, 304, headers)
    }
  } else {
    headers['Cache-Control'] = 'no-store'
  }
  return c.body(body, status as 200, headers)
}

export const sendJson = (c: Context, data: unknown, status = 200): Response => send(c, JSON.stringify(data), 'application/json; charset=utf-8', { status })

export const jsonError = (c: Context, status: number, name: string, message: string): Response =>
  send(c, JSON.stringify({ error: { name, message } }), 'application/json; charset=utf-8', { status })

/**
 * No script but our own file, no inline style, nothing from elsewhere: a stranger's
 * text that slipped past escaping still could not run or load anything.
 */
export const CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"
].join('; ')

export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next()
  c.header('Content-Security-Policy', CSP)
  c.header('X-Content-Type-Options', 'nosniff')
  c.header('Referrer-Policy', 'no-referrer')
  c.header('X-Frame-Options', 'DENY')
  c.header('Cross-Origin-Opener-Policy', 'same-origin')
  // The JSON, CSV and event stream are public data: any site may read them (no cookies exist).
  if (c.req.path.startsWith('/api/')) c.header('Access-Control-Allow-Origin', '*')
  else c.header('Cross-Origin-Resource-Policy', 'same-origin')
}

/** The site only reads: every other method is 405 with the Allow header. */
export const readOnly: MiddlewareHandler = async (c, next) => {
  if (c.req.method === 'GET' || c.req.method === 'HEAD') { await next(); return }
  c.header('Allow', 'GET, HEAD')
  return c.req.path.startsWith('/api/')
    ? jsonError(c, 405, 'MethodNotAllowed', `${c.req.method} is not allowed; this API is read-only (GET, HEAD)`)
    : c.text('Method not allowed: this site is read-only (GET, HEAD).\n', 405)
}
