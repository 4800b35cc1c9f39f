/**
 * Live updates are shared by everyone: idle streams from one address must not take
 * them from the others. Real HTTP against the server serveCoordinator starts, with its
 * defaults; one client dials from 127.0.0.2 and the other from 127.0.0.1 (Linux routes
 * all of 127/8 to loopback), so they are two addresses.
 */
import { request, type IncomingMessage } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHttpApp, SSE_DEFAULTS } from '../src/index.ts'
import { startFixture, type Fixture } from './fixture.ts'
import { SiteDriver } from './site-fixture.ts'

const A = '127.0.0.2'
const B = '127.0.0.1'

interface Opened { res: IncomingMessage, text: () => string, ended: Promise<void>, close: () => void }

/** GET /api/events from `localAddress`; resolves with the response once its headers arrive. */
async function events (url: string, localAddress: string): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/api/events`, { localAddress, headers: { accept: 'text/event-stream' } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      // Our own close() ends the response with an abort: expected.
      res.on('error', () => {})
      const ended = new Promise<void>((resolve) => res.once('end', resolve))
      resolve({ res, text: () => text, ended, close: () => { req.destroy() } })
    })
    req.on('error', reject)
    req.end()
  })
}

const until = async (done: () => boolean, ms = 10_000): Promise<boolean> => {
  const deadline = Date.now() + ms
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25))
  return done()
}

describe('live updates: a cap per address', () => {
  let f: Fixture
  let d: SiteDriver
  const open: Opened[] = []
  beforeAll(async () => {
    f = await startFixture()
    d = await SiteDriver.start(f.running)
  })
  afterAll(async () => {
    for (const o of open) o.close()
    await d.stop()
    await f.stop()
  })

  const stream = async (from: string): Promise<Opened> => {
    const o = await events(f.running.httpUrl, from)
    open.push(o)
    return o
  }
  const body = async (o: Opened): Promise<unknown> => {
    await o.ended
    return JSON.parse(o.text())
  }

  it(`${SSE_DEFAULTS.maxStreamsPerClient} idle streams fill one address's share: its next gets 429, another address still gets its stream and events`, async () => {
    const listeners = (): number => f.running.coordinator.listenerCount('event')
    const before = listeners()
    const idle: Opened[] = []
    for (let i = 0; i < SSE_DEFAULTS.maxStreamsPerClient; i++) {
      const o = await stream(A)
      expect(o.res.statusCode).toBe(200)
      idle.push(o)
    }
    const refused = await stream(A)
    expect(refused.res.statusCode).toBe(429)
    expect(Number(refused.res.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    const error = (await body(refused) as { error: { name: string, message: string } }).error
    expect(error.name).toBe('TooManyStreamsFromClient')
    expect(error.message).toContain(`${SSE_DEFAULTS.maxStreamsPerClient} live connections`)

    const other = await stream(B)
    expect(other.res.statusCode).toBe(200)
    expect(other.res.headers['content-type']).toMatch(/^text\/event-stream/)
    const seq = await d.submit('seen by the other address')
    expect(await until(() => other.text().includes('event: receipt'))).toBe(true)
    expect(other.text()).toContain(`"candidateSeq":${seq}`)

    // A closed stream gives its slot back: the address may open one more, and only one.
    idle[0]?.close()
    // Streams from A and B hold one listener each; the server notices the close a moment later.
    expect(await until(() => listeners() === before + SSE_DEFAULTS.maxStreamsPerClient)).toBe(true)
    expect((await stream(A)).res.statusCode).toBe(200)
    expect((await stream(A)).res.statusCode).toBe(429)
  })

  it('one address cannot fill the global cap: past its share it gets 429, and the others still get 200, not 503', async () => {
    const per = SSE_DEFAULTS.maxStreamsPerClient
    const app = createHttpApp(f.running.coordinator, { rateLimit: false, sse: { maxStreams: 2 * per } })
    // The address as @hono/node-server hands it to the app.
    const from = async (remoteAddress: string): Promise<Response> => app.request('/api/events', {}, { incoming: { socket: { remoteAddress } } })
    const fromA = await Promise.all(Array.from({ length: 2 * per }, async () => from('192.0.2.7')))
    expect(fromA.map((r) => r.status)).toEqual([...Array(per).fill(200), ...Array(per).fill(429)])
    const fromB = await from('198.51.100.9')
    expect(fromB.status).toBe(200)
    for (const r of [...fromA, fromB]) await r.body?.cancel()
    // One /64 is one client: a host cannot step around its share by changing its IPv6 suffix.
    const v6 = await Promise.all(Array.from({ length: per + 1 }, async (_, i) => from(`2001:db8:0:1::${i + 1}`)))
    expect(v6.map((r) => r.status)).toEqual([...Array(per).fill(200), 429])
    for (const r of v6) await r.body?.cancel()
  })
})
