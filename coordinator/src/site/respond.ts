import type { Context, MiddlewareHandler } from 'hono'
import { secureHeaders } from 'hono/secure-headers'
import { MethodNotAllowed } from './errors.ts'

/** Live data: browsers and proxies may reuse it for a few seconds, then revalidate by ETag (hono/etag). */
export const SHORT = 'public, max-age=5'
export const ASSET = 'public, max-age=3600'
/** Errors are never cached: the next request may well succeed. */
export const NO_STORE = 'no-store'

/** A 200 body with its type and cache lifetime. */
export function send (c: Context, body: string, contentType: string, opts: { cache?: string, headers?: Record<string, string> } = {}): Response {
  return c.body(body, 200, { 'Content-Type': contentType, 'Cache-Control': opts.cache ?? SHORT, ...opts.headers })
}

export const sendJson = (c: Context, data: unknown): Response => send(c, JSON.stringify(data), 'application/json; charset=utf-8')

/**
 * No script but our own file, no inline style, nothing from elsewhere: a stranger's
 * text that slipped past escaping still could not run or load anything.
 */
const CSP = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  baseUri: ["'none'"],
  formAction: ["'none'"],
  frameAncestors: ["'none'"]
}

/**
 * hono/secure-headers with our CSP and DENY for framing. No Strict-Transport-Security:
 * the coordinator serves plain HTTP, and a proxy in front of it decides HSTS for its domain.
 */
const SECURE = { contentSecurityPolicy: CSP, xFrameOptions: 'DENY', strictTransportSecurity: false } as const

/** The pages: nothing of theirs may be embedded by another origin. */
export const pageHeaders = (): MiddlewareHandler => secureHeaders({ ...SECURE, crossOriginResourcePolicy: 'same-origin' })
/** The API is public data, readable from anywhere (CORS, no cookies exist): no resource policy. */
export const apiHeaders = (): MiddlewareHandler => secureHeaders({ ...SECURE, crossOriginResourcePolicy: false })

/** The site only reads: every other method is 405 with the Allow header (`what`: "this API", "this site"). */
export const readOnly = (what: string): MiddlewareHandler => async (c, next) => {
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD') throw new MethodNotAllowed(`${c.req.method} is not allowed; ${what} is read-only (GET, HEAD)`)
  await next()
}
