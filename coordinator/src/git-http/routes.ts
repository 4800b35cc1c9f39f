import { promisify } from 'node:util'
import { gunzip } from 'node:zlib'
import { Hono, type MiddlewareHandler } from 'hono'
import { logger } from '@libp2p/logger'
import { answerOf, NotFound } from '../site/errors.ts'
import { BadGitRequest, GitRequestTooLarge, ReadOnlyRepository } from './errors.ts'
import { advertisementPrefix, checkRequestType, GIT_HTTP_DEFAULTS, gitProtocolOf, isGzip, serviceOf, UPLOAD_PACK, type GitHttpLimits } from './request.ts'
import { findGit, UploadPack } from './upload-pack.ts'

const log = logger('autoresearch:coordinator:git-http')
const unzip = promisify(gunzip)
const NO_CACHE = { 'Cache-Control': 'no-cache, max-age=0, must-revalidate', Pragma: 'no-cache' }

export interface GitHttpOptions {
  limits?: Partial<GitHttpLimits>
  /** The site's per-client rate limit, shared: a clone costs two or three requests of it. */
  limit?: MiddlewareHandler
  /** Where git is (default: the first on the PATH); undefined answers 503. */
  git?: () => string | undefined
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
  const app = new Hono()
  if (opts.limit !== undefined) app.use(opts.limit)

  app.get('/info/refs', async (c) => {
    serviceOf(c.req.query('service'))
    const gitProtocol = gitProtocolOf(c.req.header('git-protocol'))
    const refs = await uploadPack.advertise(gitProtocol, c.req.raw.signal)
    return c.body(new Uint8Array(Buffer.concat([advertisementPrefix(gitProtocol), refs])), 200, { 'Content-Type': `application/x-${UPLOAD_PACK}-advertisement`, ...NO_CACHE })
  })

  app.post(`/${UPLOAD_PACK}`, async (c) => {
    checkRequestType(c.req.header('content-type'))
    const request = await readRequest(c.req.raw, limits.maxRequestBytes)
    const body = await uploadPack.serve(request, gitProtocolOf(c.req.header('git-protocol')), c.req.raw.signal)
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

/** The request body, at most `max` bytes before and after gzip (a gzip bomb stops at the cap). */
async function readRequest (req: Request, max: number): Promise<Buffer> {
  const gzipped = isGzip(req.headers.get('content-encoding') ?? undefined)
  const declared = Number(req.headers.get('content-length') ?? NaN)
  if (declared > max) throw new GitRequestTooLarge(max)
  const chunks: Uint8Array[] = []
  let total = 0
  if (req.body !== null) {
    for await (const chunk of req.body) {
      total += chunk.byteLength
      if (total > max) throw new GitRequestTooLarge(max)
      chunks.push(chunk)
    }
  }
  const raw = Buffer.concat(chunks)
  if (!gzipped) return raw
  try {
    return await unzip(raw, { maxOutputLength: max })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new GitRequestTooLarge(max)
    throw new BadGitRequest('the gzip request body is corrupt')
  }
}
