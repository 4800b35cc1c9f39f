import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { clientPrefix, rateLimit } from './index.ts'

function app (opts: { burst: number, perSecond: number, maxClients?: number }, clock: { t: number }) {
  const a = new Hono()
  a.use(rateLimit({ ...opts, now: () => clock.t, key: (c) => c.req.header('x-test-client') ?? 'anon' }))
  a.get('/api/x', (c) => c.json({ ok: true }))
  a.get('/page', (c) => c.text('ok'))
  return a
}

const get = async (a: Hono, path: string, client = 'a') => a.request(path, { headers: { 'x-test-client': client } })

describe('rate limit', () => {
  it('lets a burst through, then answers 429 with Retry-After until tokens refill', async () => {
    const clock = { t: 1_000_000 }
    const a = app({ burst: 3, perSecond: 0.5 }, clock)
    for (let i = 0; i < 3; i++) expect((await get(a, '/api/x')).status).toBe(200)
    const limited = await get(a, '/api/x')
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('2')
    expect(await limited.json()).toMatchObject({ error: { name: 'RateLimited' } })
    const page = await get(a, '/page')
    expect(page.status).toBe(429)
    expect(await page.text()).toMatch(/Too many requests/)
    clock.t += 1999
    expect((await get(a, '/api/x')).status).toBe(429)
    clock.t += 1
    expect((await get(a, '/api/x')).status).toBe(200)
    expect((await get(a, '/api/x')).status).toBe(429)
  })

  it('keeps one bucket per client', async () => {
    const clock = { t: 0 }
    const a = app({ burst: 1, perSecond: 1 }, clock)
    expect((await get(a, '/api/x', 'a')).status).toBe(200)
    expect((await get(a, '/api/x', 'a')).status).toBe(429)
    expect((await get(a, '/api/x', 'b')).status).toBe(200)
  })

  it('bounds its memory: idle buckets go first, then the oldest', async () => {
    const clock = { t: 0 }
    const a = app({ burst: 1, perSecond: 1, maxClients: 2 }, clock)
    await get(a, '/api/x', 'a')
    await get(a, '/api/x', 'b')
    await get(a, '/api/x', 'c') // evicts 'a', the oldest busy bucket
    expect((await get(a, '/api/x', 'a')).status).toBe(200)
  })

  it('keys IPv6 clients by their /64 and unwraps IPv4-mapped addresses', () => {
    expect(clientPrefix('2001:db8:0:1:aaaa::1')).toBe('2001:db8:0:1::/64')
    expect(clientPrefix('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(clientPrefix('::1')).toBe('0:0:0:0::/64')
    expect(clientPrefix('::ffff:10.0.0.7')).toBe('10.0.0.7')
    expect(clientPrefix('192.0.2.1')).toBe('192.0.2.1')
  })
})
