import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

/**
 * An answer the site gives on purpose. Routes throw these; each app's onError maps them
 * once: the API to `{ error: { name, message } }` (the names docs/api.md lists), the pages
 * to an HTML page headed by `title`.
 */
export class SiteHttpError extends HTTPException {
  readonly title: string
  readonly headers: Record<string, string>

  constructor (status: ContentfulStatusCode, title: string, message: string, headers: Record<string, string> = {}) {
    super(status, { message })
    this.title = title
    this.headers = headers
  }
}

export class NotFound extends SiteHttpError {
  override name = 'NotFound'
  constructor (message: string) { super(404, 'Not found', message) }
}

export class BadRequest extends SiteHttpError {
  override name = 'BadRequest'
  constructor (message: string) { super(400, 'Bad request', message) }
}

/** The site only reads. */
export class MethodNotAllowed extends SiteHttpError {
  override name = 'MethodNotAllowed'
  constructor (message: string) { super(405, 'Method not allowed', message, { Allow: 'GET, HEAD' }) }
}

export class RateLimited extends SiteHttpError {
  override name = 'RateLimited'
  constructor (retryAfterSeconds: number) {
    super(429, 'Too many requests', `too many requests; retry in ${retryAfterSeconds} s`, { 'Retry-After': String(retryAfterSeconds) })
  }
}

/** Live streams are a nicety: the pages work without them, so a refusal says when to retry. */
const RETRY_STREAM = { 'Retry-After': '30' }

export class TooManyStreamsFromClient extends SiteHttpError {
  override name = 'TooManyStreamsFromClient'
  constructor (perClient: number) {
    super(429, 'Too many live connections', `your address already holds ${perClient} live connections; close a tab, the pages work without them`, RETRY_STREAM)
  }
}

export class TooManyStreams extends SiteHttpError {
  override name = 'TooManyStreams'
  constructor () { super(503, 'Too many live connections', 'too many live connections; the pages work without them', RETRY_STREAM) }
}

/** What an error answers with; anything unexpected is a 500 that shows no detail. */
export function answerOf (err: Error): { status: ContentfulStatusCode, name: string, title: string, message: string, headers: Record<string, string> } {
  if (err instanceof SiteHttpError) return { status: err.status, name: err.name, title: err.title, message: err.message, headers: err.headers }
  // Hono's own (a malformed request, for one).
  if (err instanceof HTTPException) return { status: err.status, name: 'HTTPException', title: 'Something went wrong', message: err.message, headers: {} }
  return { status: 500, name: 'InternalError', title: 'Something went wrong', message: 'the coordinator failed to answer this request', headers: {} }
}
