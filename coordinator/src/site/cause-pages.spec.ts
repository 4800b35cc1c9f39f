import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { commitWithChanges, parseManifest, type ExperimentReport, type Manifest } from '@autoresearch/protocol'
import type { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { siteApp } from '../../test/site-app.ts'
import { initHome } from '../home.ts'
import { Store, type StoredVerdict } from '../store/index.ts'
import { MAX_FILE_CHARS } from './queries/code.ts'

/**
 * What a researcher hosting a cause reads on its site (issue 16, point 8): the cause's files
 * and program.md, the evaluator's extra figures, a stale candidate, every submitter, the
 * call to join fitted to the cause, round chart ticks, and experiments per hour. A real
 * coordinator home (`initHome`: bare git repository, SQLite store) and app.request().
 */

const HOSTILE = '<script>alert("program")</script>'
const ALICE = 'c'.repeat(64)
/** A volunteer whose only submission went stale. */
const BOB = 'd'.repeat(64)
const CAROL = 'e'.repeat(64)
const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0')

const MANIFEST = {
  name: 'cpu-cause',
  program: 'program.md',
  editable: ['train.py', 'model/'],
  train: { command: ['python3', 'train.py'], timeoutSeconds: 60 },
  evaluate: { command: ['python3', 'evaluate.py'], timeoutSeconds: 30 },
  metric: { name: 'val_loss', direction: 'minimize' },
  verification: { trials: 2, quorum: 1, confidence: 0.95, minImprovement: 0.005 }
}

const FILES: Record<string, string> = {
  'autoresearch.json': JSON.stringify(MANIFEST),
  'program.md': `# Make val_loss lower\nChange train.py only. ${HOSTILE}\n`,
  'train.py': 'LR = 0.01\nprint("training")\n',
  'model/layers.py': 'WIDTH = 8\n',
  'evaluate.py': 'import json, os\n',
  'data/weights.bin': 'xyz\u0000uvw',
  'notes/big.txt': 'x'.repeat(MAX_FILE_CHARS + 10)
}

function candidate (seq: number, submitter: string, commit: string, parent: string, state: 'merged' | 'stale', received: number) {
  const body = {
    type: 'submission' as const, causeId: 'toy', parent, candidate: commit, packSha256: hex(seq, 64), claimedMetric: 0.9, logDigest: hex(seq, 64),
    description: `candidate ${seq}`, publicKey: submitter, nonce: hex(seq, 32), time: received
  }
  return {
    seq, commit_oid: commit, tree_oid: hex(100 + seq, 40), parent_oid: parent, submitter, claimed_metric: 0.9, description: body.description,
    received_at: received, state, seeds: [[1, 2]], origin_seq: null,
    receipt: { receipt: { type: 'receipt' as const, causeId: 'toy', candidateSeq: seq, candidate: commit, tree: hex(100 + seq, 40), submitter, receivedAt: received }, signature: 'sig' },
    submission: { body, signature: 'sig' }
  }
}

/** Candidate #1's verdict: two trials whose evaluate wrote `params` and `n_val` beside the metric. */
const verdict: StoredVerdict = {
  candidateSeq: 1, state: 'accepted', meanImprovement: 0.0866, reason: 'passed', seeds: [1, 2],
  trials: [
    { seed: 1, baseline: 1.0371, candidate: 0.9134, baselineLogDigest: hex(1, 64), candidateLogDigest: hex(2, 64), baselineExtras: { params: 52_000, n_val: 400 }, candidateExtras: { params: 61_000, n_val: 400 }, verifier: CAROL },
    { seed: 2, baseline: 1.0301, candidate: 0.9806, baselineLogDigest: hex(3, 64), candidateLogDigest: hex(4, 64), baselineExtras: { params: 52_000, n_val: 400 }, candidateExtras: { params: 61_000, n_val: 400 }, verifier: CAROL }
  ],
  test: { n: 2, mean: 0.0866, sd: 0.05, margin: 0.005, t: 2.3, pValue: 0.13, confidence: 0.95, passed: true },
  baselineMetric: 1.0336, candidateMetric: 0.947, rounds: 1, claimContradicted: false, disagreeing: []
}

function report (best: string, n: number, worker: string, receivedAt: number) {
  const r: ExperimentReport = { best, commit: hex(n, 40), status: 'discard', metric: 1, noise: null, seed: n, description: `try ${n}`, diff: '', diffHash: hex(n, 64), time: receivedAt - 1000 }
  return { worker, hardware: null, nonce: hex(1000 + n, 32), receivedAt, reports: [r] }
}

class Scenario {
  dir = ''
  store!: Store
  app!: Hono
  manifest!: Manifest
  initial = ''
  merged = ''

  readonly get = async (path: string): Promise<Response> => this.app.request(path)
  readonly text = async (path: string): Promise<string> => (await this.get(path)).text()
  readonly json = async <T>(path: string): Promise<T> => (await this.get(path)).json() as Promise<T>

  async open (): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'ar-site-cause-'))
    const causeDir = join(this.dir, 'cause')
    for (const [path, text] of Object.entries(FILES)) {
      mkdirSync(dirname(join(causeDir, path)), { recursive: true })
      writeFileSync(join(causeDir, path), text)
    }
    const home = await initHome(join(this.dir, 'home'), causeDir)
    this.manifest = home.manifest
    this.initial = home.commit
    this.merged = await commitWithChanges(home.paths.gitdir, home.commit, { 'train.py': 'LR = 0.02\nprint("training")\n' }, 'higher lr')
    const store = this.store = new Store(home.paths.database)
    const now = Date.now()
    store.insertCandidate(candidate(1, ALICE, this.merged, this.initial, 'merged', now - 3 * 3600_000), hex(1, 32))
    store.setCandidateState(1, 'merged', null, verdict)
    store.insertMerge({ commit_oid: this.merged, parent_oid: this.initial, candidate_seq: 1, metric: 0.947, baseline_metric: 1.0336, merged_at: now - 2 * 3600_000, kind: 'merge' })
    store.insertCandidate(candidate(2, BOB, hex(0xb0b, 40), this.initial, 'stale', now - 2.5 * 3600_000), hex(2, 32))
    store.setCandidateState(2, 'stale', 'train.py conflicts with the new best (merge #1)')
    // Two workers busy in the last hour, and one report from before it.
    store.insertReports(report(this.merged, 1, ALICE, now - 2 * 3600_000))
    store.insertReports(report(this.merged, 2, ALICE, now - 10 * 60_000))
    store.insertReports(report(this.merged, 3, CAROL, now - 5 * 60_000))
    this.app = siteApp(store, this.manifest, this.dir, { gitdir: home.paths.gitdir })
  }

  close (): void {
    this.store.close()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

describe('site: what a host reads about a cause', () => {
  const s = new Scenario()
  beforeAll(async () => { await s.open() })
  afterAll(() => { s.close() })

  it('lists the best\'s files with editable and protected marks, and links program.md', async () => {
    const res = await s.get('/files')
    expect(res.status).toBe(200)
    const page = await res.text()
    expect(page).toContain(`Files at <code>${s.merged.slice(0, 10)}</code>`)
    const marks = [...page.matchAll(/<code>([^<]+)<\/code><\/a>(?: <small>[^<]*<\/small>)?<\/td><td><span class="badge[^"]*">(editable|protected)</g)].map((m) => [m[1], m[2]])
    expect(Object.fromEntries(marks)).toEqual({
      'autoresearch.json': 'protected', 'data/weights.bin': 'protected', 'evaluate.py': 'protected', 'model/layers.py': 'editable',
      'notes/big.txt': 'protected', 'program.md': 'protected', 'train.py': 'editable'
    })
    expect(page).toContain(`href="/files/${s.merged}/program.md"`)
    expect(page).toContain(`href="/files/${s.initial}"`)
    const api = await s.json<{ commit: string, kind: string, files: Array<{ path: string, editable: boolean, program: boolean }> }>('/api/files')
    expect(api).toMatchObject({ commit: s.merged, kind: 'best' })
    expect(api.files.find((f) => f.path === 'program.md')).toEqual({ path: 'program.md', editable: false, program: true })
    // The overview and the initial commit's page lead there.
    expect(await s.text('/')).toContain(`href="/files/${s.merged}/program.md"`)
    expect(await s.text(`/commits/${s.initial}`)).toContain(`href="/files/${s.initial}/train.py"`)
  })

  it('shows program.md and each file at the initial commit and at the best, escaped', async () => {
    const program = await s.text(`/files/${s.initial}/program.md`)
    expect(program).toContain('# Make val_loss lower')
    expect(program).toContain('&lt;script&gt;alert(&quot;program&quot;)&lt;/script&gt;')
    expect(program).not.toContain(HOSTILE)
    expect(program).toContain('(the initial commit)')
    expect(await s.text(`/files/${s.initial}/train.py`)).toContain('LR = 0.01')
    expect(await s.text(`/files/${s.merged}/train.py`)).toContain('LR = 0.02')
    const api = await s.json<{ text: string, editable: boolean, kind: string }>(`/api/files/${s.initial}/model/layers.py`)
    expect(api).toMatchObject({ text: 'WIDTH = 8\n', editable: true, kind: 'initial' })
  })

  it('caps a large file, does not show a binary one, and answers 404 for anything else', async () => {
    const big = await s.json<{ text: string, truncated: boolean, chars: number }>(`/api/files/${s.merged}/notes/big.txt`)
    expect(big.text).toHaveLength(MAX_FILE_CHARS)
    expect(big).toMatchObject({ truncated: true, chars: MAX_FILE_CHARS + 10 })
    expect(await s.text(`/files/${s.merged}/notes/big.txt`)).toContain(`Cut at ${MAX_FILE_CHARS} of its ${MAX_FILE_CHARS + 10} characters`)
    const bin = await s.text(`/files/${s.merged}/data/weights.bin`)
    expect(bin).toContain('Binary file; not shown.')
    // Letters no commit id has, so that the page's ids cannot look like the file's bytes.
    expect(bin).not.toContain('xyz')
    // A stale candidate's commit is no best: its files stay private, like its diff.
    for (const path of [`/files/${hex(0xb0b, 40)}`, `/files/${s.initial}/missing.py`, `/files/${s.initial}/model`, `/files/${s.initial}/../home/coordinator.db`, '/files/not-a-commit']) {
      expect((await s.get(path)).status, path).toBe(404)
    }
    const res = await s.get(`/api/files/${s.initial}/nope.py`)
    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({ error: { name: 'NotFound' } })
  })

  it('shows the evaluator\'s extra figures on the candidate page', async () => {
    const page = await s.text('/candidates/1')
    expect(page).toContain('Other figures from the evaluator')
    expect(page).toMatch(/<code>params<\/code><\/td><td class="n">52000<\/td><td class="n">61000<\/td>\s*<td class="n">\+9000<\/td><td class="n">2 \/ 2<\/td>/)
    const api = await s.json<{ extras: unknown[], trials: Array<{ candidateExtras?: Record<string, number> }> }>('/api/candidates/1')
    expect(api.extras).toContainEqual({ name: 'params', baseline: 52_000, candidate: 61_000, baselineRuns: 2, candidateRuns: 2 })
    expect(api.trials[0]?.candidateExtras).toEqual({ params: 61_000, n_val: 400 })
  })

  it('says a stale candidate is closed, with its reason, never that it waits', async () => {
    const page = await s.text('/candidates/2')
    expect(page).toContain('<strong>Stale.</strong>')
    expect(page).toContain('it will not be verified')
    expect(page).toContain('train.py conflicts with the new best (merge #1)')
    expect(page).not.toContain('No verdict yet')
  })

  it('lists every submitter, one whose only submission went stale included, with counts by state', async () => {
    const page = await s.text('/contributors')
    expect(page).toContain(`title="${BOB}"`)
    expect(page).toContain('<span class="chip">1 stale</span>')
    const api = await s.json<{ contributors: Array<{ publicKey: string, submitted: number, states: Record<string, number> }> }>('/api/contributors')
    const bob = api.contributors.find((c) => c.publicKey === BOB)
    expect(bob).toMatchObject({ submitted: 1, states: { stale: 1, merged: 0, queued: 0 } })
    expect(api.contributors.find((c) => c.publicKey === ALICE)).toMatchObject({ submitted: 1, states: { merged: 1 } })
    const csv = (await s.text('/api/contributors.csv')).split('\r\n')
    const head = csv[0]?.split(',') ?? []
    const row = csv.find((l) => l.includes(BOB))?.split(',') ?? []
    expect(row[head.indexOf('state_stale')]).toBe('1')
  })

  it('asks for a spare machine on a CPU cause, and for a GPU only when the manifest requires one', async () => {
    const overview = await s.text('/')
    expect(overview).toContain('Lend a spare machine (a CPU is enough)')
    expect(overview).not.toContain('Lend a spare GPU')
    expect(await s.text('/about')).toContain('Lend a spare machine')
    const gpu = parseManifest({ ...MANIFEST, requires: { gpu: true } })
    const app = siteApp(s.store, gpu, s.dir)
    expect(await (await app.request('/')).text()).toContain('Lend a spare GPU:')
    expect(await (await app.request('/about')).text()).toContain('Lend a spare GPU (this cause needs one)')
    expect(await (await app.request('/api/overview')).json()).toMatchObject({ requiresGpu: true })
  })

  it('labels the chart\'s axis with round ticks: 1, 2 or 5 × 10^k apart', async () => {
    const page = await s.text('/')
    const labels = [...page.matchAll(/<text class="y-tick" [^>]*>([^<]+)<\/text>/g)].map((m) => m[1] as string)
    expect(labels.length).toBeGreaterThanOrEqual(3)
    const values = labels.map(Number)
    const step = (values[1] as number) - (values[0] as number)
    const norm = step / 10 ** Math.floor(Math.log10(step) + 1e-9)
    expect([1, 2, 5, 10].some((n) => Math.abs(norm - n) < 1e-6), `step ${step} in ${labels.join(' ')}`).toBe(true)
    values.forEach((v, i) => expect(Math.abs(v / step - Math.round(v / step)), labels[i]).toBeLessThan(1e-6))
    // Written alike: as many decimals as the step needs.
    expect(new Set(labels.map((l) => l.split('.')[1]?.length ?? 0)).size).toBe(1)
  })

  it('shows experiments per hour and the workers busy in the last hour on the overview', async () => {
    const page = await s.text('/')
    expect(page).toContain('2 in the last hour by 2 worker(s) · 3 reported ever')
    expect(page).not.toContain('Experiments per hour (workers)</dt><dd><span class="muted">not reported yet')
    expect(await s.json('/api/network')).toMatchObject({ experimentsPerHour: 2, activeWorkersLastHour: 2, experimentsTotal: 3 })
  })
})
