import type { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHttpApp } from '../src/index.ts'
import { joinAddress } from '../src/site/routes.ts'
import { startFixture, type Fixture } from './fixture.ts'
import { SiteDriver } from './site-fixture.ts'

const HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)> <b>bold</b> "quoted" & \'single\''
const FORMULA = '=HYPERLINK("http://evil.example/?a,b","click")'
const LONG = 'x'.repeat(5000)

/** Tiny RFC 4180 reader, enough to check the exports round-trip. */
function parseCsv (text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++ } else if (ch === '"') quoted = false
      else cell += ch
    } else if (ch === '"') quoted = true
    else if (ch === ',') { row.push(cell); cell = '' } else if (ch === '\r' && text[i + 1] === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i++ } else cell += ch
  }
  return rows
}

const scripts = (page: string): string[] => page.match(/<script\b[^>]*>/g) ?? []

describe('leaderboard site', () => {
  let f: Fixture
  let d: SiteDriver
  let app: Hono
  let merged: number
  let rejected: number
  let pending: number
  const get = async (path: string, init?: RequestInit): Promise<Response> => app.request(path, init)

  beforeAll(async () => {
    f = await startFixture()
    d = await SiteDriver.start(f.running)
    merged = await d.submit(HOSTILE, (t) => `${t}\n# <script>alert("diff")</script> ${LONG}\n`)
    expect((await d.verify(merged, 'pass')).state).toBe('accepted')
    rejected = await d.submit(FORMULA)
    expect((await d.verify(rejected, 'fail')).state).toBe('rejected')
    pending = await d.submit('still waiting', (t) => `${t}\n# SECRET-PENDING-CHANGE\n`)
    app = createHttpApp(f.running.coordinator, { rateLimit: false })
  })
  afterAll(async () => { await d.stop(); await f.stop() })

  it('overview: best, chart with one point per verified candidate, merges, network, join line; hostile text escaped', async () => {
    const res = await get('/')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    const page = await res.text()
    const status = f.running.coordinator.status()
    expect(page).toContain('<h1>toy-regression</h1>')
    expect(page).toContain(status.best.commit.slice(0, 10))
    expect(page.match(/<circle class="pt /g)).toHaveLength(2)
    expect(page).toContain('class="pt pt-merged"')
    expect(page).toContain('class="pt pt-rejected"')
    expect(page).toContain('<path class="best"')
    expect(page).toContain(`data-merge-seq="1"`)
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt; &lt;b&gt;bold&lt;/b&gt; &quot;quoted&quot; &amp; &#39;single&#39;')
    expect(page).not.toContain('<script>alert')
    expect(page).not.toContain('<img src=x')
    expect(page).toContain('not reported yet')
    expect(page).toContain('site-test &lt;b&gt;cpu&lt;/b&gt;')
    expect(page).toContain(`npx autoresearch-worker --coordinator ${joinAddress(status.multiaddrs)}`)
    expect(scripts(page)).toEqual(['<script src="/assets/live.js" defer>'])
  })

  it('candidate page: escaped diff with the long line, claimed versus verified, every trial, the test', async () => {
    const page = await (await get(`/candidates/${merged}`)).text()
    expect(page).toContain('<pre class="diff">')
    expect(page).toContain('# &lt;script&gt;alert(&quot;diff&quot;)&lt;/script&gt; ' + LONG)
    expect(page).not.toContain('<script>alert')
    expect(page).toMatch(/Claimed val_mse<\/dt><dd>0\.95</)
    expect(page).toMatch(/Verified val_mse \(mean\)<\/dt><dd>0\.948</)
    const seeds = f.running.coordinator.store.jobsFor(merged).flatMap((j) => JSON.parse(j.seeds) as number[])
    expect(seeds).toHaveLength(5)
    for (const seed of seeds) expect(page).toContain(`<tr><td>${seed}</td>`)
    expect(page).toContain('<dt>Passed</dt><dd>yes</dd>')
    expect(page).toContain(d.verifier.publicKey.slice(0, 12))
    expect(scripts(page)).toHaveLength(1)
  })

  it('rejected candidate shows the reason; a pending one hides its change', async () => {
    const bad = await (await get(`/candidates/${rejected}`)).text()
    expect(bad).toContain('Rejected:')
    expect(bad).toMatch(/does not beat minImprovement 0\.005/)
    expect(bad).toContain('=HYPERLINK(&quot;http://evil.example/?a,b&quot;,&quot;click&quot;)')
    const wait = await (await get(`/candidates/${pending}`)).text()
    expect(wait).toContain('published once verification decides')
    expect(wait).not.toContain('SECRET-PENDING-CHANGE')
    const api = await (await get(`/api/candidates/${pending}`)).json() as { diff: unknown, diffHidden: string }
    expect(api.diff).toBeNull()
    expect(JSON.stringify(api)).not.toContain('SECRET-PENDING-CHANGE')
  })

  it('commit pages: a candidate\'s commit and the initial commit', async () => {
    const commit = f.running.coordinator.store.candidate(merged)!.commit_oid
    const page = await (await get(`/commits/${commit}`)).text()
    expect(page).toContain(`Candidate #${merged}`)
    const initial = await get(`/commits/${f.best}`)
    expect(initial.status).toBe(200)
    const text = await initial.text()
    expect(text).toContain('initial commit')
    expect(text).toContain('<code>train.py</code>')
    const json = await (await get(`/api/commits/${f.best}`)).json() as { kind: string, files: string[] }
    expect(json.kind).toBe('initial')
    expect(json.files).toContain('autoresearch.json')
  })

  it('contributors, queue and about pages; reading them writes nothing', async () => {
    const rows = (): unknown => f.running.coordinator.store.db.prepare('SELECT * FROM identities ORDER BY public_key').all()
    const before = rows()
    const contributors = await (await get('/contributors')).text()
    expect(rows()).toEqual(before)
    expect(contributors).toContain(d.submitter.publicKey.slice(0, 12))
    expect(contributors).toContain(d.verifier.publicKey.slice(0, 12))
    expect(contributors).not.toContain('<th>team')
    const queue = await (await get('/queue')).text()
    expect(queue).toMatch(new RegExp(`Pending <small>\\(1\\)</small>[\\s\\S]*href="/candidates/${pending}"[\\s\\S]*Accepted`))
    expect(queue).toMatch(/does not beat minImprovement/)
    expect(queue).not.toContain('<script>alert')
    const about = await (await get('/about')).text()
    expect(about).toContain('npx autoresearch-worker --coordinator /ip4/127.0.0.1/tcp/')
    expect(about).toContain('/p2p/')
  })

  it('JSON API: status unchanged, overview, merges, candidates, contributors, queue, network, about', async () => {
    const status = await (await get('/api/status')).json() as Record<string, unknown>
    // The fields /api/status always had are still there (others may be added).
    expect(Object.keys(status)).toEqual(expect.arrayContaining(['baselineMetric', 'best', 'candidates', 'cause', 'causeId', 'merges', 'metric', 'multiaddrs', 'verification']))
    expect(status).toEqual(JSON.parse(JSON.stringify(f.running.coordinator.status())))
    expect(status.peers).toBeGreaterThanOrEqual(1) // the fixture's own peer
    const overview = await (await get('/api/overview')).json() as { chart: { points: unknown[] }, recentMerges: Array<{ description: string }>, network: { experimentsPerHour: null } }
    expect(overview.chart.points).toHaveLength(2)
    expect(overview.recentMerges[0]?.description).toBe(HOSTILE)
    expect(overview.network.experimentsPerHour).toBeNull()
    const merges = await (await get('/api/merges')).json() as { merges: Array<{ kind: string, seq: number }> }
    expect(merges.merges.map((m) => [m.seq, m.kind])).toEqual([[0, 'initial'], [1, 'merge']])
    const all = await (await get('/api/candidates')).json() as { candidates: Array<{ seq: number, state: string }>, next: null }
    expect(all.candidates.map((c) => [c.seq, c.state])).toEqual([[pending, 'queued'], [rejected, 'rejected'], [merged, 'merged']])
    const paged = await (await get('/api/candidates?limit=1')).json() as { candidates: Array<{ seq: number }>, next: string }
    expect(paged.candidates.map((c) => c.seq)).toEqual([pending])
    const second = await (await get(paged.next)).json() as { candidates: Array<{ seq: number }> }
    expect(second.candidates.map((c) => c.seq)).toEqual([rejected])
    const onlyMerged = await (await get('/api/candidates?state=merged')).json() as { candidates: Array<{ seq: number }> }
    expect(onlyMerged.candidates.map((c) => c.seq)).toEqual([merged])
    expect((await get('/api/candidates?state=bogus')).status).toBe(400)
    const detail = await (await get(`/api/candidates/${merged}`)).json() as { trials: unknown[], test: { passed: boolean }, diff: Array<{ path: string, diff: { added: number } }>, description: string }
    expect(detail.trials).toHaveLength(5)
    expect(detail.test.passed).toBe(true)
    expect(detail.diff[0]?.path).toBe('train.py')
    expect(detail.diff[0]?.diff.added).toBeGreaterThan(0)
    const contributors = await (await get('/api/contributors')).json() as { contributors: Array<{ publicKey: string, verifiedGain: number, merges: number, verificationRuns: number }>, teams: null }
    expect(contributors.teams).toBeNull()
    expect(contributors.contributors[0]).toMatchObject({ publicKey: d.submitter.publicKey, merges: 1 })
    expect(contributors.contributors[0]!.verifiedGain).toBeCloseTo(0.052, 6)
    expect(contributors.contributors.find((c) => c.publicKey === d.verifier.publicKey)?.verificationRuns).toBe(20)
    const queue = await (await get('/api/queue')).json() as { pending: Array<{ seq: number }>, merged: Array<{ seq: number }>, closed: Array<{ seq: number, reason: string }> }
    expect(queue.pending.map((c) => c.seq)).toEqual([pending])
    expect(queue.merged.map((c) => c.seq)).toEqual([merged])
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
    expect(bySeq.get(merged)?.[col('description')]).toBe(HOSTILE)
    expect(bySeq.get(rejected)?.[col('description')]).toBe(`'${FORMULA}`)
    expect(text).toContain(`"'=HYPERLINK(""http://evil.example/?a,b"",""click"")"`)
    expect(Number(bySeq.get(rejected)?.[col('mean_improvement')])).toBeLessThanOrEqual(0)
    expect(rows.every((r) => r.length === header.length)).toBe(true)

    const contributors = parseCsv(await (await get('/api/contributors.csv')).text())
    expect(contributors[0]).toEqual(['rank', 'public_key', 'name', 'team', 'verified_gain', 'merges', 'verification_runs', 'submitted', 'accepted', 'rejected', 'contradicted', 'banned'])
    expect(contributors[1]?.slice(0, 2)).toEqual(['1', d.submitter.publicKey])
  })

  it('results.tsv: autoresearch\'s columns, the baseline then each standing merge as keep', async () => {
    const res = await get('/api/results.tsv')
    expect(res.headers.get('content-type')).toMatch(/^text\/tab-separated-values/)
    const lines = (await res.text()).trimEnd().split('\n')
    expect(lines[0]).toBe('commit\tmetric\tmemory_gb\tstatus\tdescription')
    expect(lines).toHaveLength(3)
    const [base, merge] = lines.slice(1).map((l) => l.split('\t'))
    expect(base).toEqual([f.best.slice(0, 7), '1.000000', '0.0', 'keep', 'baseline'])
    expect(merge?.[0]).toBe(f.running.coordinator.store.candidate(merged)!.commit_oid.slice(0, 7))
    expect(merge?.[1]).toBe('0.948000')
    expect(merge?.[3]).toBe('keep')
    expect(merge?.[4]).toBe(HOSTILE)
    expect(merge).toHaveLength(5)
  })

  it('404s: an HTML page for the site, JSON for the API, never a stack trace', async () => {
    for (const path of ['/candidates/999', '/candidates/abc', '/candidates/0', '/commits/zzz', `/commits/${'a'.repeat(40)}`, '/no/such/page']) {
      const res = await get(path)
      expect(res.status, path).toBe(404)
      expect(res.headers.get('content-type'), path).toMatch(/^text\/html/)
      const text = await res.text()
      expect(text).toContain('<h1>Not found</h1>')
      expect(text).not.toMatch(/at .*\.ts:\d+/)
    }
    const hostile = await (await get('/candidates/%3Cscript%3Ealert(1)%3C%2Fscript%3E')).text()
    expect(hostile).not.toContain('<script>alert')
    for (const path of ['/api/candidates/999', '/api/commits/zzz', '/api/nothing']) {
      const res = await get(path)
      expect(res.status, path).toBe(404)
      expect(await res.json()).toMatchObject({ error: { name: 'NotFound' } })
    }
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
    const coordinator = f.running.coordinator
    const before = coordinator.listenerCount('event')
    const res = await get('/api/events')
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(res.headers.get('cache-control')).toBe('no-cache, no-store')
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    const decoder = new TextDecoder()
    let text = decoder.decode((await reader.read()).value)
    expect(text).toContain('retry: 5000')
    expect(coordinator.listenerCount('event')).toBe(before + 1)
    const seq = await d.submit('<script>alert("sse")</script>')
    while (!text.includes('event: receipt')) text += decoder.decode((await reader.read()).value)
    expect(text).toContain(`"candidateSeq":${seq}`)
    expect(text).not.toContain('alert')
    await reader.cancel()
    expect(coordinator.listenerCount('event')).toBe(before)
  })

  it('rate limit: 429 with Retry-After once a client\'s bucket is empty', async () => {
    const limited = createHttpApp(f.running.coordinator, { rateLimit: { burst: 3, perSecond: 0.1 } })
    for (let i = 0; i < 3; i++) expect((await limited.request('/api/merges')).status).toBe(200)
    const res = await limited.request('/api/merges')
    expect(res.status).toBe(429)
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(await res.json()).toMatchObject({ error: { name: 'RateLimited' } })
    expect((await limited.request('/')).status).toBe(429)
  })

  // Last: it changes the submitter's profile for the tests above.
  it('names, teams and worker hardware appear once submitters report them, escaped; the team column only then', async () => {
    const profile = { name: '<i>Ada</i> \u202eevil', team: '=Team <script>x</script>' }
    const hardware = { class: 'rtx <4090>', cpus: 16, gpus: ['NVIDIA <b>GeForce</b>'] }
    const seq = await d.submit('with a profile', undefined, { profile, hardware })
    const contributors = await (await get('/contributors')).text()
    expect(contributors).toContain('<th>team</th>')
    expect(contributors).toContain('<span class="name">&lt;i&gt;Ada&lt;/i&gt; \u202eevil</span>')
    expect(contributors).toContain('=Team &lt;script&gt;x&lt;/script&gt;')
    expect(contributors).toContain('<h2>Teams</h2>')
    expect(contributors).not.toContain('<script>x')
    const api = await (await get('/api/contributors')).json() as { contributors: Array<{ publicKey: string, name: string, team: string }>, teams: Array<{ team: string, members: number, merges: number }> }
    expect(api.contributors.find((c) => c.publicKey === d.submitter.publicKey)).toMatchObject(profile)
    expect(api.teams).toEqual([expect.objectContaining({ team: profile.team, members: 1, merges: 1 })])
    const csv = parseCsv(await (await get('/api/contributors.csv')).text())
    expect(csv[1]?.slice(2, 4)).toEqual([profile.name, `'${profile.team}`])
    const overview = await (await get('/')).text()
    expect(overview).toContain('rtx &lt;4090&gt; × 1 <small>(NVIDIA &lt;b&gt;GeForce&lt;/b&gt;)</small>')
    const candidate = await (await get(`/candidates/${seq}`)).text()
    expect(candidate).toContain('team <span class="name">=Team &lt;script&gt;x&lt;/script&gt;</span>')
    expect(candidate).toContain('rtx &lt;4090&gt; · 16 CPU · NVIDIA &lt;b&gt;GeForce&lt;/b&gt;')
    // A later submission without a profile keeps the name it gave before.
    await d.submit('without a profile')
    const again = await (await get('/api/contributors')).json() as { contributors: Array<{ publicKey: string, name: string }> }
    expect(again.contributors.find((c) => c.publicKey === d.submitter.publicKey)?.name).toBe(profile.name)
  })
})
