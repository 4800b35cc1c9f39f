import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseManifest, type ExperimentReport, type ExperimentStatus } from '@autoresearch/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Store } from '../store/index.ts'
import type { Hono } from 'hono'
import { siteApp } from '../../test/site-app.ts'
import { tried, type ExperimentView, type TriedView } from './queries/experiments.ts'

const manifest = parseManifest({
  name: 'toy', editable: ['train.py'], train: { command: ['python', 'train.py'] }, metric: { name: 'loss', direction: 'minimize', stdoutPattern: 'loss=(\\S+)' }, verification: { minImprovement: 0.01 }
})

const INITIAL = 'a'.repeat(40)
/** Candidate #1's commit, merged: the current best. */
const MERGED = 'b'.repeat(40)
/** Candidate #2's commit, rejected: never a best. */
const REJECTED = 'e'.repeat(40)
const ALICE = 'c'.repeat(64)
const BOB = 'd'.repeat(64)
const HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)>'
const FORMULA = '=HYPERLINK("http://evil.example/","click")'

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0')
/** Report `n`'s commit, distinct in its first 7 digits (what results.tsv keeps). */
const commitOf = (n: number): string => `${hex(n, 2)}${'f'.repeat(38)}`
const short = (n: number): string => commitOf(n).slice(0, 7)

function report (best: string, n: number, status: ExperimentStatus, metric: number | null, description: string): ExperimentReport {
  return { best, commit: commitOf(n), status, metric, noise: metric === null ? null : 0.002, seed: n, description, diff: `--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n-x = ${n}\n+x = ${n + 1}\n`, diffHash: hex(n, 64), time: 10_000 + n }
}

function candidate (seq: number, commit: string, parent: string, state: 'merged' | 'rejected') {
  const body = {
    type: 'submission' as const, causeId: 'toy', parent, candidate: commit, packSha256: hex(seq, 64), claimedMetric: 0.9, logDigest: hex(seq, 64),
    description: `candidate ${seq}`, publicKey: ALICE, nonce: hex(seq, 32), time: 1000 + seq
  }
  return {
    seq, commit_oid: commit, tree_oid: hex(100 + seq, 40), parent_oid: parent, submitter: ALICE, claimed_metric: 0.9, description: body.description,
    received_at: 1000 + seq, state, seeds: [[1, 2]], origin_seq: null,
    receipt: { receipt: { type: 'receipt' as const, causeId: 'toy', candidateSeq: seq, candidate: commit, tree: hex(100 + seq, 40), submitter: ALICE, receivedAt: 1000 + seq }, signature: 'sig' },
    submission: { body, signature: 'sig' }
  }
}

/** A real store in a temp dir: the initial commit, candidate #1 merged on it, #2 rejected, and reports on both bests. */
class Scenario {
  dir = ''
  store!: Store
  app!: Hono

  readonly get = async (path: string): Promise<Response> => this.app.request(path)
  readonly json = async <T>(path: string): Promise<T> => (await this.get(path)).json() as Promise<T>

  open (): void {
    this.dir = mkdtempSync(join(tmpdir(), 'ar-site-experiments-'))
    const store = this.store = new Store(join(this.dir, 'coordinator.db'))
    store.insertMerge({ commit_oid: INITIAL, parent_oid: null, candidate_seq: null, metric: null, baseline_metric: null, merged_at: 1000, kind: 'initial' })
    store.insertCandidate(candidate(1, MERGED, INITIAL, 'merged'), hex(1, 32))
    store.insertMerge({ commit_oid: MERGED, parent_oid: INITIAL, candidate_seq: 1, metric: 0.8, baseline_metric: 1, merged_at: 2000, kind: 'merge' })
    store.insertCandidate(candidate(2, REJECTED, MERGED, 'rejected'), hex(2, 32))
    // On the initial commit: seq 1–5 (Alice), then on the merged best: seq 6–8 (Bob), then one more on the initial commit (seq 9).
    store.insertReports({
      worker: ALICE, hardware: 'cpu', nonce: hex(11, 32), receivedAt: 3000, reports: [
        report(INITIAL, 1, 'keep', 0.95, 'lower lr'),
        report(INITIAL, 2, 'discard', 1.02, FORMULA),
        report(INITIAL, 3, 'crash', null, 'bigger model'),
        report(INITIAL, 4, 'unconfirmed', 0.97, `initial ${HOSTILE}`),
        report(INITIAL, 5, 'keep', 0.95, 'same gain, later')
      ]
    })
    store.insertReports({
      worker: BOB, hardware: null, nonce: hex(12, 32), receivedAt: 4000, reports: [
        report(MERGED, 6, 'discard', 0.81, HOSTILE),
        report(MERGED, 7, 'keep', 0.79, 'warmup'),
        report(MERGED, 8, 'crash', null, 'oom')
      ]
    })
    store.insertReports({ worker: ALICE, hardware: 'cpu', nonce: hex(13, 32), receivedAt: 5000, reports: [report(INITIAL, 9, 'discard', 1.1, 'late')] })

    this.app = siteApp(store, manifest, this.dir)
  }

  close (): void {
    this.store.close()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

describe('experiment reports on the site', () => {
  const s = new Scenario()
  beforeAll(() => { s.open() })
  afterAll(() => { s.close() })

  type Page = { experiments: ExperimentView[], next: string | null }
  const seqs = (p: Page): number[] => p.experiments.map((e) => e.seq)

  it('/api/experiments: every report in arrival order, each marked self-reported', async () => {
    const all = await s.json<Page>('/api/experiments')
    expect(seqs(all)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(all.next).toBeNull()
    expect(all.experiments[5]).toEqual({
      seq: 6, worker: BOB, best: MERGED, commit: commitOf(6), status: 'discard', metric: 0.81, noise: 0.002, seed: 6, description: HOSTILE,
      diff: report(MERGED, 6, 'discard', 0.81, HOSTILE).diff, diffHash: hex(6, 64), nearKey: null, hypothesis: null, hardware: null, reportedAt: 10_006, receivedAt: 4000, selfReported: true
    })
    expect(all.experiments[2]).toMatchObject({ status: 'crash', metric: null, noise: null, hardware: 'cpu' })
  })

  it('/api/experiments: pages with since and next, filtered by best', async () => {
    const first = await s.json<Page>('/api/experiments?limit=4')
    expect(seqs(first)).toEqual([1, 2, 3, 4])
    expect(first.next).toBe('/api/experiments?since=4&limit=4')
    const second = await s.json<Page>(first.next as string)
    expect(seqs(second)).toEqual([5, 6, 7, 8])
    const third = await s.json<Page>(second.next as string)
    expect(seqs(third)).toEqual([9])
    expect(third.next).toBeNull()
    // A page that ends exactly at the end of the log has no next.
    expect((await s.json<Page>('/api/experiments?since=5&limit=4')).next).toBeNull()
    expect(seqs(await s.json<Page>('/api/experiments?since=9'))).toEqual([])

    const onInitial = await s.json<Page>(`/api/experiments?best=${INITIAL}&limit=3`)
    expect(seqs(onInitial)).toEqual([1, 2, 3])
    expect(onInitial.next).toBe(`/api/experiments?best=${INITIAL}&since=3&limit=3`)
    const rest = await s.json<Page>(onInitial.next as string)
    expect(seqs(rest)).toEqual([4, 5, 9])
    expect(rest.next).toBeNull()
    expect(seqs(await s.json<Page>(`/api/experiments?best=${MERGED}&since=6`))).toEqual([7, 8])
    expect(seqs(await s.json<Page>(`/api/experiments?best=${REJECTED}`))).toEqual([])
    // A limit out of range is clamped, as /api/candidates does.
    expect(seqs(await s.json<Page>('/api/experiments?limit=0'))).toEqual([1])
    expect(seqs(await s.json<Page>('/api/experiments?limit=5000'))).toHaveLength(9)
  })

  it('/api/experiments: 400 for a best that is not a commit id or a since that is not a position', async () => {
    for (const q of ['best=xyz', `best=${INITIAL.toUpperCase()}`, `best=${INITIAL}0`, 'best=', 'since=-1', 'since=abc', 'since=01', 'since=1.5', 'since=']) {
      const res = await s.get(`/api/experiments?${q}`)
      expect(res.status, q).toBe(400)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      expect(((await res.json()) as { error: { name: string } }).error.name).toBe('BadRequest')
    }
    expect((await s.get('/api/experiments?since=0')).status).toBe(200)
    expect((await s.get('/api/experiments.tsv?best=nope')).status).toBe(400)
  })

  it('/api/experiments.tsv: results.tsv columns, unconfirmed written as a discard that says so, descriptions defused', async () => {
    const res = await s.get('/api/experiments.tsv')
    expect(res.headers.get('content-type')).toBe('text/tab-separated-values; charset=utf-8')
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="experiments.tsv"')
    const text = await res.text()
    expect(text.endsWith('\n')).toBe(true)
    const lines = text.trimEnd().split('\n')
    expect(lines[0]).toBe('commit\tmetric\tmemory_gb\tstatus\tdescription')
    expect(lines.slice(1).map((l) => l.split('\t'))).toEqual([
      [short(1), '0.950000', '0.0', 'keep', 'lower lr'],
      [short(2), '1.020000', '0.0', 'discard', `'${FORMULA}`],
      [short(3), '', '0.0', 'crash', 'bigger model'],
      [short(4), '0.970000', '0.0', 'discard', `initial ${HOSTILE} (not confirmed on a second seed)`],
      [short(5), '0.950000', '0.0', 'keep', 'same gain, later'],
      [short(6), '0.810000', '0.0', 'discard', HOSTILE],
      [short(7), '0.790000', '0.0', 'keep', 'warmup'],
      [short(8), '', '0.0', 'crash', 'oom'],
      [short(9), '1.100000', '0.0', 'discard', 'late']
    ])
    const onMerged = await s.get(`/api/experiments.tsv?best=${MERGED}`)
    expect(onMerged.headers.get('content-disposition')).toBe(`attachment; filename="experiments-${MERGED.slice(0, 7)}.tsv"`)
    expect((await onMerged.text()).trimEnd().split('\n').map((l) => l.split('\t')[0])).toEqual(['commit', short(6), short(7), short(8)])
  })

  it('summarises a best: counts by status, the best run in the cause\'s direction (earliest on a tie), the latest first', async () => {
    const v = tried({ store: s.store, manifest }, INITIAL)
    expect(v.counts).toEqual({ keep: 2, discard: 2, crash: 1, unconfirmed: 1 })
    expect(v.total).toBe(6)
    expect(v.bestRun?.seq).toBe(1)
    expect(v.latest.map((e) => e.seq)).toEqual([9, 5, 4, 3, 2, 1])
    const maximize = parseManifest({ ...manifest, metric: { ...manifest.metric, direction: 'maximize' } })
    expect(tried({ store: s.store, manifest: maximize }, INITIAL).bestRun?.seq).toBe(9)
    expect(tried({ store: s.store, manifest }, REJECTED)).toEqual({ best: REJECTED, total: 0, counts: { keep: 0, discard: 0, crash: 0, unconfirmed: 0 }, bestRun: null, latest: [] })

    const overview = await s.json<{ tried: TriedView }>('/api/overview')
    expect(overview.tried.best).toBe(MERGED)
    expect(overview.tried.counts).toEqual({ keep: 1, discard: 1, crash: 1, unconfirmed: 0 })
    expect(overview.tried.bestRun?.seq).toBe(7)
    expect(overview.tried.latest.map((e) => e.seq)).toEqual([8, 7, 6])
    expect((await s.json<{ tried: TriedView }>(`/api/commits/${INITIAL}`)).tried.total).toBe(6)
    expect((await s.json<{ tried: TriedView }>(`/api/commits/${MERGED}`)).tried.best).toBe(MERGED)
    expect((await s.json<{ tried: TriedView | null }>('/api/candidates/1')).tried?.total).toBe(3)
    expect((await s.json<{ tried: TriedView | null }>('/api/candidates/2')).tried).toBeNull()
  })

  it('the overview shows what was tried on the current best, hostile text escaped, with links to the JSON and TSV', async () => {
    const page = await (await s.get('/')).text()
    expect(page).toContain('Tried on this best')
    expect(page).toContain('self-reported and unverified')
    expect(page).toContain('1 kept')
    expect(page).toContain(`href="/api/experiments?best=${MERGED}"`)
    expect(page).toContain(`href="/api/experiments.tsv?best=${MERGED}"`)
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;')
    expect(page).not.toContain('<script>alert')
    expect(page).not.toContain('<img src=x')
    expect(page).toContain(`title="${BOB}"`)
    // Only the current best's reports.
    expect(page).not.toContain('lower lr')
  })

  it('commit pages of bests show what was tried on them; a candidate never merged does not', async () => {
    const initial = await (await s.get(`/commits/${INITIAL}`)).text()
    expect(initial).toContain('What was tried on this best')
    expect(initial).toContain('lower lr')
    expect(initial).toContain('initial &lt;script&gt;alert(1)&lt;/script&gt;')
    expect(initial).not.toContain('<script>alert')
    expect(initial).toContain(`href="/api/experiments.tsv?best=${INITIAL}"`)
    expect(initial).not.toContain('warmup')

    for (const path of [`/commits/${MERGED}`, '/candidates/1']) {
      const merged = await (await s.get(path)).text()
      expect(merged, path).toContain('What was tried on this best')
      expect(merged, path).toContain('warmup')
      expect(merged, path).toContain('&lt;script&gt;alert(1)')
      expect(merged, path).not.toContain('<script>alert')
    }
    for (const path of [`/commits/${REJECTED}`, '/candidates/2']) {
      const rejected = await s.get(path)
      expect(rejected.status).toBe(200)
      expect(await rejected.text(), path).not.toContain('What was tried on this best')
    }
  })
})
