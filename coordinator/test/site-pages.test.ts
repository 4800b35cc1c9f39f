import { describe, expect, it } from 'vitest'
import { joinAddress } from '../src/site/params.ts'
import { LONG, parseCsv, scripts, SiteScenario } from './site-fixture.ts'

describe('leaderboard site: pages', () => {
  const s = SiteScenario.use()
  const get = s.get

  it('overview: best, chart with one point per verified candidate, merges, network, join line; hostile text escaped', async () => {
    const res = await get('/')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    const page = await res.text()
    const status = s.f.running.coordinator.status()
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
    const page = await (await get(`/candidates/${s.merged}`)).text()
    expect(page).toContain('<pre class="diff">')
    expect(page).toContain('# &lt;script&gt;alert(&quot;diff&quot;)&lt;/script&gt; ' + LONG)
    expect(page).not.toContain('<script>alert')
    expect(page).toMatch(/Claimed val_mse<\/dt><dd>0\.95</)
    expect(page).toMatch(/Verified val_mse \(mean\)<\/dt><dd>0\.948</)
    const seeds = s.f.running.coordinator.store.jobsFor(s.merged).flatMap((j) => j.seeds)
    expect(seeds).toHaveLength(5)
    for (const seed of seeds) expect(page).toContain(`<tr><td>${seed}</td>`)
    expect(page).toContain('<dt>Passed</dt><dd>yes</dd>')
    expect(page).toContain(s.d.verifier.publicKey.slice(0, 12))
    expect(scripts(page)).toHaveLength(1)
  })

  it('rejected candidate shows the reason; a pending one hides its change', async () => {
    const bad = await (await get(`/candidates/${s.rejected}`)).text()
    expect(bad).toContain('<strong>Rejected.</strong>')
    expect(bad).toMatch(/does not beat minImprovement 0\.005/)
    expect(bad).toContain('=HYPERLINK(&quot;http://evil.example/?a,b&quot;,&quot;click&quot;)')
    const wait = await (await get(`/candidates/${s.pending}`)).text()
    expect(wait).toContain('published once verification decides')
    expect(wait).not.toContain('SECRET-PENDING-CHANGE')
    const api = await (await get(`/api/candidates/${s.pending}`)).json() as { diff: unknown, diffHidden: string }
    expect(api.diff).toBeNull()
    expect(JSON.stringify(api)).not.toContain('SECRET-PENDING-CHANGE')
  })

  it('commit pages: a candidate\'s commit and the initial commit', async () => {
    const commit = s.f.running.coordinator.store.candidate(s.merged)!.commit_oid
    const page = await (await get(`/commits/${commit}`)).text()
    expect(page).toContain(`Candidate #${s.merged}`)
    const initial = await get(`/commits/${s.f.best}`)
    expect(initial.status).toBe(200)
    const text = await initial.text()
    expect(text).toContain('initial commit')
    expect(text).toContain('<code>train.py</code>')
    const json = await (await get(`/api/commits/${s.f.best}`)).json() as { kind: string, files: string[] }
    expect(json.kind).toBe('initial')
    expect(json.files).toContain('autoresearch.json')
  })

  it('contributors, queue and about pages; reading them writes nothing', async () => {
    const rows = (): unknown => s.f.running.coordinator.store.dump('identities')
    const before = rows()
    const contributors = await (await get('/contributors')).text()
    expect(rows()).toEqual(before)
    expect(contributors).toContain(s.d.submitter.publicKey.slice(0, 12))
    expect(contributors).toContain(s.d.verifier.publicKey.slice(0, 12))
    expect(contributors).not.toContain('<th>team')
    const queue = await (await get('/queue')).text()
    expect(queue).toMatch(new RegExp(`Pending <small>\\(1\\)</small>[\\s\\S]*href="/candidates/${s.pending}"[\\s\\S]*Accepted`))
    expect(queue).toMatch(/does not beat minImprovement/)
    expect(queue).not.toContain('<script>alert')
    const about = await (await get('/about')).text()
    expect(about).toContain('npx autoresearch-worker --coordinator /ip4/127.0.0.1/tcp/')
    expect(about).toContain('/p2p/')
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
  // Last: it changes the submitter's profile for the tests above.
  it('names, teams and worker hardware appear once submitters report them, escaped; the team column only then', async () => {
    const profile = { name: '<i>Ada</i> \u202eevil', team: '=Team <script>x</script>' }
    const hardware = { class: 'rtx <4090>', cpus: 16, gpus: ['NVIDIA <b>GeForce</b>'] }
    const seq = await s.d.submit('with a profile', undefined, { profile, hardware })
    const contributors = await (await get('/contributors')).text()
    expect(contributors).toContain('<th>team</th>')
    expect(contributors).toContain('<span class="name">&lt;i&gt;Ada&lt;/i&gt; \u202eevil</span>')
    expect(contributors).toContain('=Team &lt;script&gt;x&lt;/script&gt;')
    expect(contributors).toContain('<h2>Teams</h2>')
    expect(contributors).not.toContain('<script>x')
    const api = await (await get('/api/contributors')).json() as { contributors: Array<{ publicKey: string, name: string, team: string }>, teams: Array<{ team: string, members: number, merges: number }> }
    expect(api.contributors.find((c) => c.publicKey === s.d.submitter.publicKey)).toMatchObject(profile)
    expect(api.teams).toEqual([expect.objectContaining({ team: profile.team, members: 1, merges: 1 })])
    const csv = parseCsv(await (await get('/api/contributors.csv')).text())
    expect(csv[1]?.slice(2, 4)).toEqual([profile.name, `'${profile.team}`])
    const overview = await (await get('/')).text()
    expect(overview).toContain('rtx &lt;4090&gt; × 1 <small>(NVIDIA &lt;b&gt;GeForce&lt;/b&gt;)</small>')
    const candidate = await (await get(`/candidates/${seq}`)).text()
    expect(candidate).toContain('team <span class="name">=Team &lt;script&gt;x&lt;/script&gt;</span>')
    expect(candidate).toContain('rtx &lt;4090&gt; · 16 CPU · NVIDIA &lt;b&gt;GeForce&lt;/b&gt;')
    // A later submission without a profile keeps the name it gave before.
    await s.d.submit('without a profile')
    const again = await (await get('/api/contributors')).json() as { contributors: Array<{ publicKey: string, name: string }> }
    expect(again.contributors.find((c) => c.publicKey === s.d.submitter.publicKey)?.name).toBe(profile.name)
  })
})
