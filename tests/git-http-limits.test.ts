import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve, type ServerType } from '@hono/node-server'
import { afterAll, describe, expect, it } from 'vitest'
import { createGitApp, type GitHttpOptions } from '../coordinator/src/git-http/routes.ts'

// Gits that stand in for the host's, so a slot is held as long as a test wants.
const scratch = mkdtempSync(join(tmpdir(), 'ar-git-limits-'))
const fakeGit = (name: string, script: string): string => {
  const path = join(scratch, name)
  writeFileSync(path, `#!/bin/sh\n${script}\n`, { mode: 0o755 })
  return path
}
/** An answer without end: holds its slot for as long as the client reads, or until the idle limit once it stops. */
const endless = fakeGit('endless-git', 'exec cat /dev/zero')
/** A first line of answer, then nothing: git hung mid-answer. */
const hangs = fakeGit('hanging-git', "printf '0008NAK\\n'\nexec sleep 60")

const HEADERS = { 'Content-Type': 'application/x-git-upload-pack-request' }
const fetchPack = (app: ReturnType<typeof createGitApp>, client: string): Promise<Response> =>
  Promise.resolve(app.request('/git-upload-pack', { method: 'POST', body: '0000', headers: { ...HEADERS, 'X-Client': client } }))
const app = (git: string, limits: GitHttpOptions['limits']): ReturnType<typeof createGitApp> =>
  createGitApp(scratch, { git: () => git, limits, key: (c) => c.req.header('x-client') ?? 'none' })
/** Asks until a fetch is served (bounded): the response, and how long it took. */
const untilServed = async (ask: () => Promise<Response>, withinMs: number): Promise<{ res: Response, ms: number }> => {
  const started = Date.now()
  for (;;) {
    const res = await ask()
    if (res.status !== 503 || Date.now() - started > withinMs) return { res, ms: Date.now() - started }
    await res.text()
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

afterAll(() => { rmSync(scratch, { recursive: true, force: true }) })

describe('git smart HTTP cannot be held by one client', () => {
  it('gives one client its share of the upload-pack slots and serves another client meanwhile', async () => {
    const git = app(endless, { maxConcurrent: 3, maxPerClient: 1, idleSeconds: 30 })
    const first = await fetchPack(git, 'a')
    expect(first.status).toBe(200)
    const over = await fetchPack(git, 'a')
    expect(over.status).toBe(503)
    expect(over.headers.get('retry-after')).toBe('5')
    expect(await over.text()).toMatch(/your address already runs 1 git fetch at once, the most one address may; retry in 5 s/)
    const other = await fetchPack(git, 'b')
    expect(other.status).toBe(200)
    // A client that goes away gives its slot back.
    await first.body?.cancel()
    const { res: again } = await untilServed(async () => fetchPack(git, 'a'), 5_000)
    expect(again.status).toBe(200)
    await again.body?.cancel()
    await other.body?.cancel()
  })

  it('frees the slot of a client that stops reading within the idle limit, well before the total', async () => {
    const git = app(endless, { maxConcurrent: 1, idleSeconds: 1, timeoutSeconds: 120 })
    const unread = await fetchPack(git, 'slow')
    expect(unread.status).toBe(200)
    const busy = await fetchPack(git, 'patient')
    expect(busy.status).toBe(503)
    expect(await busy.text()).toMatch(/too many git fetches at once/)
    const { res, ms } = await untilServed(async () => fetchPack(git, 'patient'), 15_000)
    expect(res.status).toBe(200)
    expect(ms).toBeGreaterThan(500)
    expect(ms).toBeLessThan(9_000)
    await res.body?.cancel()
    // The stalled answer ends in an error, not as a pack that looks whole.
    await expect(unread.arrayBuffer()).rejects.toThrow()
  })

  it('stops an upload-pack whose answer stops coming, and frees its slot', async () => {
    const git = app(hangs, { maxConcurrent: 1, idleSeconds: 1, timeoutSeconds: 120 })
    const started = Date.now()
    const res = await fetchPack(git, 'a')
    expect(res.status).toBe(200)
    await expect(res.arrayBuffer()).rejects.toThrow()
    expect(Date.now() - started).toBeLessThan(9_000)
    const { res: next } = await untilServed(async () => fetchPack(git, 'b'), 5_000)
    expect(next.status).toBe(200)
    await next.body?.cancel()
  })

  describe('over TCP, keyed by the peer address', () => {
    let server: ServerType | undefined
    afterAll(async () => { await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined)) })

    it('counts a client that never reads against its address, then lets go of it after the idle limit', async () => {
      // The default key: every client here is 127.0.0.1.
      const git = createGitApp(scratch, { git: () => endless, limits: { maxPerClient: 1, idleSeconds: 1 } })
      server = await new Promise<ServerType>((resolve) => { const s = serve({ fetch: git.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s)) })
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/git-upload-pack`
      // A client that sends its request, and once the answer has begun, never reads another byte.
      const stalled = connect((server.address() as AddressInfo).port, '127.0.0.1')
      const answered = new Promise((resolve) => stalled.once('data', resolve))
      stalled.write(`POST /git-upload-pack HTTP/1.1\r\nHost: x\r\nContent-Type: ${HEADERS['Content-Type']}\r\nContent-Length: 4\r\n\r\n0000`)
      await answered
      stalled.pause()
      const post = async (): Promise<Response> => fetch(url, { method: 'POST', body: '0000', headers: HEADERS })
      const busy = await post()
      expect(busy.status).toBe(503)
      expect(await busy.text()).toMatch(/your address already runs 1 git fetch/)
      const { res, ms } = await untilServed(post, 15_000)
      expect(res.status).toBe(200)
      expect(ms).toBeLessThan(9_000)
      await res.body?.cancel()
      stalled.destroy()
    })
  })
})
