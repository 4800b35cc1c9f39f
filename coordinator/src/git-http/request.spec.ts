import { describe, expect, it } from 'vitest'
import { RateLimited } from '../site/errors.ts'
import { rateLimit } from '../site/middleware/rate-limit/index.ts'
import { readLimit } from './body.ts'
import { advertisementPrefix, checkRequestType, gitProtocolOf, isGzip, pktLine, serviceOf } from './request.ts'
import { createGitApp } from './routes.ts'

describe('git smart HTTP requests', () => {
  it('serves upload-pack only; a push is refused as read-only, the dumb protocol as unsupported', () => {
    expect(serviceOf('git-upload-pack')).toBe('git-upload-pack')
    expect(() => serviceOf('git-receive-pack')).toThrow(expect.objectContaining({ name: 'ReadOnlyRepository', status: 403 }))
    expect(() => serviceOf(undefined)).toThrow(expect.objectContaining({ name: 'UnknownGitService', status: 400, message: expect.stringMatching(/dumb protocol/) }))
    expect(() => serviceOf('git-upload-archive')).toThrow(expect.objectContaining({ name: 'UnknownGitService' }))
  })

  it('passes on a Git-Protocol header git would send, and drops anything else', () => {
    expect(gitProtocolOf('version=2')).toBe('version=2')
    expect(gitProtocolOf(' version=2:object-format=sha1 ')).toBe('version=2:object-format=sha1')
    expect(gitProtocolOf(undefined)).toBeUndefined()
    expect(gitProtocolOf('version=2; rm -rf /')).toBeUndefined()
    expect(gitProtocolOf('a'.repeat(300))).toBeUndefined()
  })

  it('takes gzip or plain bodies of the upload-pack request type', () => {
    expect(isGzip(undefined)).toBe(false)
    expect(isGzip('gzip')).toBe(true)
    expect(isGzip('x-gzip')).toBe(true)
    expect(() => isGzip('br')).toThrow(expect.objectContaining({ name: 'BadGitRequest', status: 400 }))
    expect(() => { checkRequestType('application/x-git-upload-pack-request') }).not.toThrow()
    expect(() => { checkRequestType('application/json') }).toThrow(expect.objectContaining({ name: 'BadGitRequest' }))
  })

  it('frames the v0 advertisement header as pkt-lines; v2 has none', () => {
    expect(pktLine('# service=git-upload-pack\n').toString()).toBe('001e# service=git-upload-pack\n')
    expect(advertisementPrefix(undefined).toString()).toBe('001e# service=git-upload-pack\n0000')
    expect(advertisementPrefix('version=2').length).toBe(0)
  })
})

describe('git routes', () => {
  const app = createGitApp('/nonexistent/cause.git', { git: () => undefined })

  it('answers 503 with the fix when the host has no git', async () => {
    const res = await app.request('/info/refs?service=git-upload-pack')
    expect(res.status).toBe(503)
    expect(await res.text()).toMatch(/no git binary on the PATH.*apt-get install git/)
  })

  it('refuses pushes, unknown paths and oversized bodies before running git', async () => {
    expect((await app.request('/git-receive-pack', { method: 'POST' })).status).toBe(403)
    expect((await app.request('/objects/info/packs')).status).toBe(404)
    const big = await app.request('/git-upload-pack', { method: 'POST', body: new Uint8Array(16), headers: { 'Content-Type': 'application/x-git-upload-pack-request', 'Content-Length': String(64 * 1024 * 1024) } })
    expect(big.status).toBe(413)
    const wrongType = await app.request('/git-upload-pack', { method: 'POST', body: 'x' })
    expect(wrongType.status).toBe(400)
  })

  it('answers 408 to a request body that stops arriving, after the idle limit and not the total', async () => {
    const slow = createGitApp('/nonexistent/cause.git', { git: () => undefined, limits: { idleSeconds: 0.2, timeoutSeconds: 60 } })
    const drip = new ReadableStream<Uint8Array>({ start (controller) { controller.enqueue(new Uint8Array(8)) } })
    const started = Date.now()
    const res = await slow.request('/git-upload-pack', { method: 'POST', body: drip, duplex: 'half', headers: { 'Content-Type': 'application/x-git-upload-pack-request' } } as RequestInit)
    expect(res.status).toBe(408)
    expect(await res.text()).toMatch(/did not arrive in time: no bytes came for 0\.2 s/)
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('waits for each chunk of a body up to the idle limit, and for the whole up to the total', () => {
    const limits = { idleSeconds: 20, timeoutSeconds: 120 }
    expect(readLimit(120_000, limits)).toEqual({ ms: 20_000, why: 'no bytes came for 20 s' })
    expect(readLimit(5_000, limits)).toEqual({ ms: 5_000, why: 'the body took over 120 s' })
    expect(readLimit(-1, limits).ms).toBe(0)
  })

  it('answers 503 with Retry-After when every upload-pack slot is taken', async () => {
    const busy = createGitApp('/nonexistent/cause.git', { git: () => 'git', limits: { maxConcurrent: 0 } })
    const res = await busy.request('/info/refs?service=git-upload-pack')
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('5')
  })

  it('shares the site\'s per-client rate limit', async () => {
    const limit = rateLimit({ burst: 1, perSecond: 0.001, key: () => 'one client', onLimited: (_c, retryAfter) => { throw new RateLimited(retryAfter) } })
    const limited = createGitApp('/nonexistent/cause.git', { git: () => undefined, limit })
    expect((await limited.request('/info/refs?service=git-upload-pack')).status).toBe(503)
    const res = await limited.request('/info/refs?service=git-upload-pack')
    expect(res.status).toBe(429)
    expect(await res.text()).toMatch(/too many requests; retry in \d+ s/)
  })
})
