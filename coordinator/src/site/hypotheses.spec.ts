import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseManifest, type ExperimentReport, type ExperimentStatus } from '@autoresearch/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Store } from '../store/index.ts'
import type { Hono } from 'hono'
import { siteApp } from '../../test/site-app.ts'
import type { ExperimentView } from './queries/experiments.ts'
import type { DigestView, HypothesisView } from './queries/hypotheses.ts'

const manifest = parseManifest({
  name: 'toy', editable: ['train.py'], train: { command: ['python', 'train.py'] }, metric: { name: 'loss', direction: 'minimize', stdoutPattern: 'loss=(\\S+)' }, verification: { minImprovement: 0.01 }
})

/** The initial commit: the only best, so the overview's "tried" section shows its reports. */
const INITIAL = 'a'.repeat(40)
const ALICE = 'c'.repeat(64)
const BOB = 'd'.repeat(64)
const PLANNER = '9'.repeat(64)
const HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)>'

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0')

function report (n: number, status: ExperimentStatus, metric: number | null, description: string, extra: Pick<ExperimentReport, 'nearKey' | 'hypothesis'> = {}): ExperimentReport {
  return {
    best: INITIAL, commit: `${hex(n, 2)}${'f'.repeat(38)}`, status, metric, noise: metric === null ? null : 0.002, seed: n, description,
    diff: `--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n-x = ${n}\n+x = ${n + 1}\n`, diffHash: hex(n, 64), time: 10_000 + n, ...extra
  }
}

/** A real store in a temp dir with only the initial commit published, served through `app.request()`. */
class Scenario {
  dir = ''
  store!: Store
  app!: Hono

  readonly get = async (path: string): Promise<Response> => this.app.request(path)
  readonly json = async <T>(path: string): Promise<T> => (await this.get(path)).json() as Promise<T>
  readonly page = async (path: string): Promise<string> => (await this.get(path)).text()

  open (): void {
    this.dir = mkdtempSync(join(tmpdir(), 'ar-site-hypotheses-'))
    const store = this.store = new Store(join(this.dir, 'coordinator.db'))
    store.insertMerge({ commit_oid: INITIAL, parent_oid: null, candidate_seq: null, metric: null, baseline_metric: null, merged_at: 1000, kind: 'initial' })
    this.app = siteApp(store, manifest, this.dir)
  }

  /**
   * Hypotheses #1–#3 (the second hostile), tested by reports seq 1–3; #4 posted later and
   * open like #3; report seq 4 tested none.
   */
  fill (): void {
    const ids = this.store.insertHypotheses({ author: PLANNER, best: INITIAL, texts: ['lower the learning rate', `try ${HOSTILE}`, 'untested idea'], nonce: hex(1, 32), at: 1500 })
    expect(ids).toEqual([1, 2, 3])
    this.store.insertReports({
      worker: ALICE, hardware: 'cpu', nonce: hex(2, 32), receivedAt: 3000, reports: [
        report(1, 'keep', 0.95, 'lr 3e-4 to 1e-4', { nearKey: 'train.py:LR:down', hypothesis: 1 }),
        report(2, 'discard', 1.02, `result ${HOSTILE}`, { hypothesis: 2 })
      ]
    })
    this.store.insertReports({
      worker: BOB, hardware: null, nonce: hex(3, 32), receivedAt: 4000, reports: [
        report(3, 'crash', null, 'lr 1e-5', { nearKey: 'train.py:LR:down', hypothesis: 1 }),
        report(4, 'keep', 0.97, 'wider mlp')
      ]
    })
    expect(this.store.insertHypotheses({ author: PLANNER, best: INITIAL, texts: ['later idea'], nonce: hex(4, 32), at: 5000 })).toEqual([4])
  }

  close (): void {
    this.store.close()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

type Hypotheses = { hypotheses: HypothesisView[] }
type Digest = { digest: DigestView | null }

describe('hypotheses and digests before any is posted', () => {
  const s = new Scenario()
  beforeAll(() => { s.open() })
  afterAll(() => { s.close() })

  it('the API answers an empty list and a null digest', async () => {
    expect(await s.json<Hypotheses>('/api/hypotheses')).toEqual({ hypotheses: [] })
    expect(await s.json<Hypotheses>('/api/hypotheses?state=open')).toEqual({ hypotheses: [] })
    expect(await s.json<Digest>('/api/digest')).toEqual({ digest: null })
    expect((await s.json<Digest>('/api/overview')).digest).toBeNull()
  })

  it('the pages say there are none, and the overview has no findings section', async () => {
    const res = await s.get('/hypotheses')
    expect(res.status).toBe(200)
    const page = await res.text()
    expect(page).toContain('No hypotheses have been posted yet.')
    expect(page).toContain('self-reported and unverified')
    expect(page).toContain('href="/hypotheses" aria-current="page"')
    const overview = await s.page('/')
    expect(overview).toContain('href="/hypotheses"')
    expect(overview).not.toContain('Findings so far')
  })
})

describe('hypotheses, their results and the digest on the site', () => {
  const s = new Scenario()
  beforeAll(() => { s.open(); s.fill() })
  afterAll(() => { s.close() })

  it('/api/hypotheses: newest first, each with its state and the experiments that tested it', async () => {
    const { hypotheses } = await s.json<Hypotheses>('/api/hypotheses')
    expect(hypotheses.map((v) => [v.id, v.state])).toEqual([[4, 'open'], [3, 'open'], [2, 'tested'], [1, 'tested']])
    const first = hypotheses[3] as HypothesisView
    expect(first).toMatchObject({ id: 1, best: INITIAL, text: 'lower the learning rate', author: PLANNER, postedAt: 1500, state: 'tested', selfReported: true })
    expect(first.results.map((e) => [e.seq, e.worker, e.status, e.metric])).toEqual([[1, ALICE, 'keep', 0.95], [3, BOB, 'crash', null]])
    // The same view as /api/experiments.
    expect(first.results[0]).toMatchObject({ description: 'lr 3e-4 to 1e-4', nearKey: 'train.py:LR:down', hypothesis: 1, selfReported: true })
    const hostile = hypotheses[2] as HypothesisView
    expect(hostile.text).toBe(`try ${HOSTILE}`)
    expect(hostile.results.map((e) => e.description)).toEqual([`result ${HOSTILE}`])
    expect(hypotheses[0]?.results).toEqual([])
  })

  it('/api/experiments carries each report\'s nearKey and hypothesis (null when it has none)', async () => {
    const { experiments } = await s.json<{ experiments: ExperimentView[] }>('/api/experiments')
    expect(experiments.map((e) => [e.seq, e.nearKey, e.hypothesis])).toEqual([[1, 'train.py:LR:down', 1], [2, null, 2], [3, 'train.py:LR:down', 1], [4, null, null]])
  })

  it('/api/hypotheses?state= filters open or tested; anything else is a 400', async () => {
    expect((await s.json<Hypotheses>('/api/hypotheses?state=open')).hypotheses.map((v) => v.id)).toEqual([4, 3])
    expect((await s.json<Hypotheses>('/api/hypotheses?state=tested')).hypotheses.map((v) => v.id)).toEqual([2, 1])
    for (const q of ['state=', 'state=closed', 'state=OPEN']) {
      const res = await s.get(`/api/hypotheses?${q}`)
      expect(res.status, q).toBe(400)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      expect(((await res.json()) as { error: { name: string } }).error.name).toBe('BadRequest')
    }
  })

  it('the /hypotheses page: an anchor per hypothesis, hostile text escaped, results linked, marked unverified', async () => {
    const page = await s.page('/hypotheses')
    for (const id of [1, 2, 3, 4]) expect(page).toContain(`id="h-${id}"`)
    expect(page.indexOf('id="h-4"')).toBeLessThan(page.indexOf('id="h-1"'))
    expect(page).toContain('try &lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;')
    expect(page).toContain('result &lt;script&gt;alert(1)&lt;/script&gt;')
    expect(page).not.toContain('<script>alert')
    expect(page).not.toContain('<img src=x')
    expect(page).toContain('self-reported and unverified')
    expect(page).toContain('No experiment has reported testing it yet.')
    // Hypothesis #1's article holds its two results, with the workers' short keys.
    const h1 = page.slice(page.indexOf('id="h-1"'))
    expect(h1).toContain('lower the learning rate')
    expect(h1).toContain('data-experiment-seq="1"')
    expect(h1).toContain('data-experiment-seq="3"')
    expect(h1).toContain('lr 3e-4 to 1e-4')
    expect(h1).toContain(`title="${BOB}">${BOB.slice(0, 12)}</code>`)
    expect(h1).toContain('s-crash')
    expect(page).toContain(`title="${PLANNER}"`)
    expect(page).not.toContain('wider mlp')
  })

  it('the tried table links each experiment to the hypothesis it tested', async () => {
    const overview = await s.page('/')
    expect(overview).toContain('href="/hypotheses#h-1">hypothesis #1</a>')
    expect(overview).toContain('href="/hypotheses#h-2">hypothesis #2</a>')
    const untested = overview.slice(overview.indexOf('data-experiment-seq="4"'))
    expect(untested.slice(0, untested.indexOf('</tr>'))).not.toContain('/hypotheses#')
    const commit = await s.page(`/commits/${INITIAL}`)
    expect(commit).toContain('href="/hypotheses#h-1">hypothesis #1</a>')
  })

  it('/api/digest, /api/overview and the overview show the latest digest, escaped, whitespace kept', async () => {
    expect(await s.json<Digest>('/api/digest')).toEqual({ digest: null })
    s.store.insertDigest('old findings', 6000)
    const text = `Findings:\n  - lower lr helps (#1)\n  - ${HOSTILE}`
    s.store.insertDigest(text, 7000)
    expect(await s.json<Digest>('/api/digest')).toEqual({ digest: { seq: 2, writtenAt: 7000, text } })
    expect((await s.json<Digest>('/api/overview')).digest).toEqual({ seq: 2, writtenAt: 7000, text })
    const overview = await s.page('/')
    expect(overview).toContain('Findings so far')
    expect(overview).toContain('<pre class="digest">Findings:\n  - lower lr helps (#1)\n  - &lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;</pre>')
    expect(overview).toContain(`datetime="${new Date(7000).toISOString()}"`)
    expect(overview).not.toContain('old findings')
    expect(overview).not.toContain('<script>alert')
    expect(overview).not.toContain('<img src=x')
  })
})
