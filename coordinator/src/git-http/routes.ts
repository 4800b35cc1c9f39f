import { Hono, type Context, type MiddlewareHandler } from 'hono'
import { logger } from '@libp2p/logger'
import { answerOf, NotFound } from '../site/errors.ts'
import { clientKey } from '../site/middleware/rate-limit/index.ts'
import { readRequest } from './body.ts'
import { ReadOnlyRepository } from './errors.ts'
import { advertisementPrefix, checkRequestType, GIT_HTTP_DEFAULTS, gitProtocolOf, serviceOf, UPLOAD_PACK, type GitHttpLimits } from './request.ts'
import { findGit, UploadPack } from './upload-pack.ts'

const log = logger('autoresearch:coordinator:git-http')
const NO_CACHE = { 'Cache-Control': 'no-cache, max-age=0, must-revalidate', Pragma: 'no-cache' }

export interface GitHttpOptions {
  limits?: Partial<GitHttpLimits>
  /** The site's per-client rate limit, shared: a clone costs two or three requests of it. */
  limit?: MiddlewareHandler
  /** Where git is (default: the first on the PATH); undefined answers 503. */
  git?: () => string | undefined
  /** Who a request is from, for `maxPerClient` (default: the site's clientKey, the rate limit's key). */
  key?: (c: Context) => string
}

/**
 * Git's smart HTTP protocol, read-only, for the cause's bare repository: mounted at
 * /cause.git, so `git clone http://HOST:PORT/cause.git` gets the best with its history
 * and `git fetch` only what changed (docs/api.md). Upload-pack does the work
 * (upload-pack.ts); this app checks and bounds what reaches it.
 */
export function createGitApp (gitdir: string, opts: GitHttpOptions = {}): Hono {
  const limits = { ...GIT_HTTP_DEFAULTS, ...opts.limits }
  const uploadPack = new UploadPack(gitdir, limits, opts.git ?? findGit)
  const key = opts.key ?? clientKey
  const app = new Hono()
  if (opts.limit !== undefined) app.use(opts.limit)

  app.get('/info/refs', async (c) => {
    serviceOf(c.req.query('service'))
    const gitProtocol = gitProtocolOf(c.req.header('git-protocol'))
    const refs = await uploadPack.advertise(gitProtocol, { client: key(c), signal: c.req.raw.signal })
    return c.body(new Uint8Array(Buffer.concat([advertisementPrefix(gitProtocol), refs])), 200, { 'Content-Type': `application/x-${UPLOAD_PACK}-advertisement`, ...NO_CACHE })
  })

  app.post(`/${UPLOAD_PACK}`, async (c) => {
    checkRequestType(c.req.header('content-type'))
    const request = await readRequest(c.req.raw, limits)
    const body = await uploadPack.serve(request, gitProtocolOf(c.req.header('git-protocol')), { client: key(c), signal: c.req.raw.signal })
    return c.body(body, 200, { 'Content-Type': `application/x-${UPLOAD_PACK}-result`, ...NO_CACHE })
  })

  app.all('/git-receive-pack', () => { throw new ReadOnlyRepository() })
  // Registered last, so that the parent app's pages never answer under /cause.git.
  app.all('*', (c) => { throw new NotFound(`${c.req.method} ${c.req.path} is not served; clone with git (smart HTTP, git 1.6.6 or newer): git clone ${new URL(c.req.url).origin}/cause.git`) })
  app.onError((err) => answer(err))
  return app
}

/** Errors as plain text with their status: git shows the status, people and logs read the text. */
function answer (err: Error): Response {
  const a = answerOf(err)
  if (a.status >= 500) log.error('git request failed: %e', err)
  else log('git request refused: %s', a.message)
  return new Response(`${a.message}\n`, { status: a.status, headers: { ...a.headers, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' } })
}
