import { describe, expect, it } from 'vitest'
import { createHttpApp } from '../src/index.ts'
import { FORMULA, HOSTILE, parseCsv, SiteScenario } from './site-fixture.ts'

describe('leaderboard site: API, exports, headers, live updates', () => {
  const s = SiteScenario.use()
  const get = s.get

  it('JSON API: status unchanged, overview, merges, candidates, contributors, queue, network, about', async () => {
    const status = await (await get('/api/status')).json() as Record<string, unknown>
    // The fields /api/status always had are still there (others may be added).
    expect(Object.keys(status)).toEqual(expect.arrayContaining(['baselineMetric', 'best', 'candidates', 'cause', 'causeId', 'merges', 'metric', 'multiaddrs', 'verification']))
    expect(status).toEqual(JSON.parse(JSON.stringify(s.f.running.coordinator.status())))
    expect(status.peers).toBeGreaterThanOrEqual(1) // the fixture's own peer
    const overview = await (await get('/api/overview')).json() as { chart: { points: unknown[] }, recentMerges: Array<{ description: string }>, network: { experimentsPerHour: number } }
    expect(overview.chart.points).toHaveLength(2)
    expect(overview.recentMerges[0]?.description).toBe(HOSTILE)
    expect(overview.network).toMatchObject({ experimentsPerHour: 0, activeWorkersLastHour: 0, experimentsTotal: 0 })
    const merges = await (await get('/api/merges')).json() as { merges: Array<{ kind: string, seq: number }> }
    expect(merges.merges.map((m) => [m.seq, m.kind])).toEqual([[0, 'initial'], [1, 'merge']])
    const all = await (await get('/api/candidates')).json() as { candidates: Array<{ seq: number, state: string }>, next: null }
    expect(all.candidates.map((c) => [c.seq, c.state])).toEqual([[s.pending, 'queued'], [s.rejected, 'rejected'], [s.merged, 'merged']])
    expect(all.next).toBeNull()
    const paged = await (await get('/api/candidates?limit=1')).json() as { candidates: Array<{ seq: number }>, next: string }
    expect(paged.candidates.map((c) => c.seq)).toEqual([s.pending])
    const second = await (await get(paged.next)).json() as { candidates: Array<{ seq: number }> }
    expect(second.candidates.map((c) => c.seq)).toEqual([s.rejected])
    const onlyMerged = await (await get('/api/candidates?state=merged')).json() as { candidates: Array<{ seq: number }> }
    expect(onlyMerged.candidates.map((c) => c.seq)).toEqual([s.merged])
    expect((await get('/api/candidates?state=bogus')).status).toBe(400)
    const detail = await (await get(`/api/candidates/${s.merged}`)).json() as { trials: unknown[], test: { passed: boolean }, diff: Array<{ path: string, diff: { added: number } }>, description: string }
    expect(detail.trials).toHaveLength(5)
    expect(detail.test.passed).toBe(true)
    expect(detail.diff[0]?.path).toBe('train.py')
    expect(detail.diff[0]?.diff.added).toBeGreaterThan(0)
    const contributors = await (await get('/api/contributors')).json() as { contributors: Array<{ publicKey: string, verifiedGain: number, merges: number, verificationRuns: number }>, teams: null }
    expect(contributors.teams).toBeNull()
    expect(contributors.contributors[0]).toMatchObject({ publicKey: s.d.submitter.publicKey, merges: 1 })
    expect(contributors.contributors[0]!.verifiedGain).toBeCloseTo(0.052, 6)
    expect(contributors.contributors.find((c) => c.publicKey === s.d.verifier.publicKey)?.verificationRuns).toBe(20)
    const queue = await (await get('/api/queue')).json() as { pending: Array<{ seq: number }>, merged: Array<{ seq: number }>, closed: Array<{ seq: number, reason: string }>, mergedTotal: number, closedTotal: number }
    expect([queue.mergedTotal, queue.closedTotal]).toEqual([1, 1])
    expect(queue.pending.map((c) => c.seq)).toEqual([s.pending])
    expect(queue.merged.map((c) => c.seq)).toEqual([s.merged])
    expect(queue.closed[0]?.reason).toMatch(/minImprovement/)
    const network = await (await get('/api/network')).json() as { submitters: { total: number }, verifiers: { total: number }, verifierHardware: Array<{ class: string }>, verificationRunsLastHour: number, workerHardware: null }
    expect(network.workerHardware).toBeNull()
    expect(network.submitters.total).toBe(1)
    expect(network.verifiers.total).toBe(1)
    expect(network.verificationRunsLastHour).toBe(20)
    expect(network.verifierHardware[0]?.class).toBe('site-test <b>cpu</b>')
    const about = await (await get('/api/about')).json() as { join: string }
    expect(about.join).toMatch(/^npx autoresearch-worker --coordinator \/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//)
  })

  it('CSV exports: RFC 4180 quoting, CRLF, formula cells defused, numbers left alone', async () => {
    const res = await get('/api/candidates.csv')
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/)
    expect(res.headers.get('content-disposition')).toMatch(/attachment; filename="toy-regression-candidates\.csv"/)
    const text = await res.text()
    expect(text.endsWith('\r\n')).toBe(true)
    const rows = parseCsv(text)
    const header = rows[0] as string[]
    expect(header.slice(0, 8)).toEqual(['seq', 'commit', 'parent', 'submitter', 'submitter_name', 'team', 'origin_seq', 'state'])
    const col = (name: string): number => header.indexOf(name)
    const bySeq = new Map(rows.slice(1).map((r) => [Number(r[0]), r]))
    expect(bySeq.get(s.merged)?.[col('description')]).toBe(HOSTILE)
    expect(bySeq.get(s.rejected)?.[col('description')]).toBe(`'${FORMULA}`)
    expect(text).toContain(`"'=HYPERLINK(""http://evil.example/?a,b"",""click"")"`)
    expect(Number(bySeq.get(s.rejected)?.[col('mean_improvement')])).toBeLessThanOrEqual(0)
    expect(rows.every((r) => r.length === header.length)).toBe(true)
    // Tagged by the list it was written from, not hashed whole: unchanged, a 304; after a change, the new list.
    const etag = res.headers.get('etag') as string
    expect(etag).toMatch(/^"[\w-]+"$/)
    const again = await get('/api/candidates.csv', { headers: { 'If-None-Match': etag } })
    expect([again.status, await again.text()]).toEqual([304, ''])
    const seq = await s.d.submit('one more for the export')
    const changed = await get('/api/candidates.csv', { headers: { 'If-None-Match': etag } })
    expect(changed.status).toBe(200)
    expect(changed.headers.get('etag')).not.toBe(etag)
    expect(parseCsv(await changed.text()).at(-1)?.[0]).toBe(String(seq))

    const contributors = parseCsv(await (await get('/api/contributors.csv')).text())
    expect(contributors[0]).toEqual(['rank', 'public_key', 'name', 'team', 'verified_gain', 'merges', 'verification_runs', 'submitted', 'accepted', 'rejected', 'contradicted', 'banned', 'state_queued', 'state_verifying', 'state_passed', 'state_merged', 'state_rejected', 'state_stale', 'state_rebased', 'state_reverted'])
    expect(contributors[1]?.slice(0, 2)).toEqual(['1', s.d.submitter.publicKey])
  })

  it('results.tsv: autoresearch\'s columns, the baseline then each standing merge as keep', async () => {
    const res = await get('/api/results.tsv')
    expect(res.headers.get('content-type')).toMatch(/^text\/tab-separated-values/)
    const lines = (await res.text()).trimEnd().split('\n')
    expect(lines[0]).toBe('commit\tmetric\tmemory_gb\tstatus\tdescription')
    expect(lines).toHaveLength(3)
    const [base, merge] = lines.slice(1).map((l) => l.split('\t'))
    expect(base).toEqual([s.f.best.slice(0, 7), '1.000000', '0.0', 'keep', 'baseline'])
    expect(merge?.[0]).toBe(s.f.running.coordinator.store.candidate(s.merged)!.commit_oid.slice(0, 7))
    expect(merge?.[1]).toBe('0.948000')
    expect(merge?.[3]).toBe('keep')
    expect(merge?.[4]).toBe(HOSTILE)
    expect(merge).toHaveLength(5)
  })

  it('read-only: other methods get 405 with Allow; HEAD works', async () => {
    for (const [method, path] of [['POST', '/'], ['POST', '/api/candidates'], ['DELETE', '/api/status'], ['PUT', '/candidates/1'], ['OPTIONS', '/api/merges']] as const) {
      const res = await get(path, { method })
      expect(res.status, `${method} ${path}`).toBe(405)
      expect(res.headers.get('allow')).toBe('GET, HEAD')
    }
    expect((await (await get('/api/merges', { method: 'PATCH' })).json())).toMatchObject({ error: { name: 'MethodNotAllowed' } })
    const head = await get('/', { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
    expect((await get('/api/events', { method: 'HEAD' })).headers.get('content-type')).toMatch(/^text\/event-stream/)
  })

  it('security and caching headers; ETag revalidation answers 304', async () => {
    const res = await get('/')
    const csp = res.headers.get('content-security-policy') as string
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("script-src 'self'")
    expect(csp).not.toContain('unsafe-inline')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('referrer-policy')).toBe('no-referrer')
    expect(res.headers.get('cache-control')).toBe('public, max-age=5')
    const etag = res.headers.get('etag') as string
    expect(etag).toMatch(/^"[\w-]+"$/)
    const again = await get('/', { headers: { 'If-None-Match': etag } })
    expect(again.status).toBe(304)
    expect(await again.text()).toBe('')
    expect((await get('/api/merges')).headers.get('cache-control')).toBe('public, max-age=5')
    expect((await get('/api/status')).headers.get('cache-control')).toBe('no-cache')
    const css = await get('/assets/site.css')
    expect(css.headers.get('cache-control')).toBe('public, max-age=3600')
    expect(css.headers.get('content-type')).toMatch(/^text\/css/)
    const cssText = await css.text()
    expect(cssText).toContain('overflow-wrap: anywhere')
    expect(cssText).toMatch(/pre \{ overflow-x: auto/)
    const js = await get('/assets/live.js')
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/)
    expect(await js.text()).toContain("new EventSource('/api/events')")
    expect((await get('/api/candidates/999')).headers.get('cache-control')).toBe('no-store')
  })

  it('server-sent events: a stream with no-cache that carries coordinator events, without stranger text', async () => {
    const coordinator = s.f.running.coordinator
    const before = coordinator.listenerCount('event')
    const res = await get('/api/events')
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(res.headers.get('cache-control')).toBe('no-cache, no-store')
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    const decoder = new TextDecoder()
    let text = decoder.decode((await reader.read()).value)
    expect(text).toContain('retry: 5000')
    expect(coordinator.listenerCount('event')).toBe(before + 1)
    const seq = await s.d.submit('<script>alert("sse")</script>')
    while (!text.includes('event: receipt')) text += decoder.decode((await reader.read()).value)
    expect(text).toContain(`"candidateSeq":${seq}`)
    expect(text).not.toContain('alert')
    await reader.cancel()
    expect(coordinator.listenerCount('event')).toBe(before)
  })

  it('rate limit: 429 with Retry-After once a client\'s bucket is empty', async () => {
    const limited = createHttpApp(s.f.running.coordinator, { rateLimit: { burst: 3, perSecond: 0.1 } })
    for (let i = 0; i < 3; i++) expect((await limited.request('/api/merges')).status).toBe(200)
    const res = await limited.request('/api/merges')
    expect(res.status).toBe(429)
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(await res.json()).toMatchObject({ error: { name: 'RateLimited' } })
    expect((await limited.request('/')).status).toBe(429)
  })
})
