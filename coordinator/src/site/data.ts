import { changedPaths, commitTree, flattenTree, improvement, readFileAt, type Hardware, type Trial } from '@autoresearch/protocol'
import { credits } from '../admin.ts'
import type { Coordinator } from '../coordinator.ts'
import type { PairedTest } from '../stats.ts'
import type { CandidateRow, CandidateState, MergeRow } from '../store.ts'
import { queueOrder, type StoredVerdict } from '../verification.ts'
import { lineDiff, type LineDiff } from './diff.ts'

/**
 * The site's view of the store: plain JSON-able objects, the same for the HTML
 * pages and the `/api/…` routes. Reads only (credits() may add an empty identity
 * row for a verifier it has not seen, which changes nothing observable).
 */

export interface MergeView {
  /** Merge number as the protocol counts it: 0 is the cause's initial commit. */
  seq: number
  kind: MergeRow['kind']
  commit: string
  parent: string | null
  candidateSeq: number | null
  submitter: string | null
  /** The name the submitter gave with that submission (free text, unverified). */
  submitterName: string | null
  description: string | null
  metric: number | null
  baselineMetric: number | null
  gain: number | null
  mergedAt: number
  revertedAt: number | null
}

export interface CandidateSummary {
  seq: number
  commit: string
  parent: string
  submitter: string
  /** Name and team the submitter gave with this submission (free text, unverified). */
  submitterName: string | null
  team: string | null
  originSeq: number | null
  state: CandidateState
  reason: string | null
  description: string
  claimedMetric: number
  /** Mean candidate metric measured by verifiers (null until verified). */
  verifiedMetric: number | null
  baselineMetric: number | null
  meanImprovement: number | null
  claimContradicted: boolean
  receivedAt: number
  /** Time of the last attestation, when there is one. */
  verifiedAt: number | null
}

export interface AttestationView { verifier: string, round: number, receivedAt: number, hardware: Hardware | null, trials: number }

export interface FileDiff { path: string, change: string, binary: boolean, unavailable: boolean, diff: LineDiff | null }

export interface CandidateDetail extends CandidateSummary {
  tree: string
  /** The hardware the worker said it ran on, if it said. */
  workerHardware: Hardware | null
  seeds: number[]
  rounds: number
  trials: Array<Trial & { verifier: string }>
  test: PairedTest | null
  disagreeing: string[]
  attestations: AttestationView[]
  rebasedFrom: number | null
  rebasedAs: number[]
  merge: { seq: number, mergedAt: number, revertedAt: number | null } | null
  /** Null while the diff is not public (see diffHidden). */
  diff: FileDiff[] | null
  diffHidden: string | null
}

export interface ContributorView {
  rank: number
  publicKey: string
  /** From the identity's latest submission; free text, unverified. */
  name: string | null
  team: string | null
  verifiedGain: number
  merges: number
  verificationRuns: number
  submitted: number
  accepted: number
  rejected: number
  contradicted: number
  banned: boolean
}

export interface NetworkView {
  submitters: { total: number, last24h: number }
  verifiers: { total: number, last24h: number }
  candidatesLastHour: number
  candidatesLast24h: number
  verificationRunsLastHour: number
  openLeases: number
  verifierHardware: Array<{ class: string, verifiers: number, gpus: string[] }>
  /** Not recorded by the protocol yet: workers do not report their own experiments. */
  experimentsPerHour: null
  /** From each submitter's latest submission that carried it; null when none did. */
  workerHardware: Array<{ class: string, workers: number, gpus: string[] }> | null
}

export interface TeamView { team: string, members: number, verifiedGain: number, merges: number, verificationRuns: number }

interface Extras { name: string | null, team: string | null, hardware: Hardware | null, hasProfile: boolean }

/** What a submission says about its sender beyond the protocol's must-haves (all optional, all unverified). */
function extrasOf (submission: string): Extras {
  try {
    const body = (JSON.parse(submission) as { body?: { profile?: { name?: unknown, team?: unknown }, hardware?: Hardware } }).body
    const text = (v: unknown): string | null => typeof v === 'string' && v.trim() !== '' ? v : null
    return { name: text(body?.profile?.name), team: text(body?.profile?.team), hardware: body?.hardware ?? null, hasProfile: body?.profile !== undefined }
  } catch {
    return { name: null, team: null, hardware: null, hasProfile: false }
  }
}

function hardwareClasses (list: Hardware[]): Array<{ class: string, count: number, gpus: string[] }> {
  const classes = new Map<string, { count: number, gpus: Set<string> }>()
  for (const hw of list) {
    const entry = classes.get(hw.class) ?? { count: 0, gpus: new Set<string>() }
    entry.count++
    for (const g of hw.gpus) entry.gpus.add(g)
    classes.set(hw.class, entry)
  }
  return [...classes].map(([cls, e]) => ({ class: cls, count: e.count, gpus: [...e.gpus].sort() })).sort((a, b) => b.count - a.count)
}

export interface ChartView {
  points: Array<{ seq: number, time: number, metric: number, state: CandidateState }>
  best: Array<{ time: number, metric: number, commit: string }>
}

const HOUR = 3600_000
const DAY = 24 * HOUR
/** Candidates whose diff is public: verification has decided them. Pending, stale and rebased ones are not. */
const DECIDED: ReadonlySet<CandidateState> = new Set(['merged', 'rejected', 'reverted'])

const verdictOf = (c: CandidateRow): StoredVerdict | null => c.verdict === null ? null : JSON.parse(c.verdict) as StoredVerdict

export class SiteData {
  readonly coordinator: Coordinator
  readonly #cache = new Map<string, { version: string, at: number, value: unknown }>()
  readonly #diffs = new Map<string, FileDiff[]>()

  constructor (coordinator: Coordinator) {
    this.coordinator = coordinator
  }

  get #db () { return this.coordinator.store.db }

  /** Changes whenever this process or another (the admin CLI) writes the database. */
  version (): string {
    const dataVersion = this.#db.pragma('data_version', { simple: true }) as number
    const changes = (this.#db.prepare('SELECT total_changes() AS n').get() as { n: number }).n
    return `${dataVersion}.${changes}`
  }

  /** Memoises a view until the database changes, and at most 10 s (some figures are per hour). */
  cached<T> (key: string, fn: () => T): T {
    const version = this.version()
    const hit = this.#cache.get(key)
    if (hit !== undefined && hit.version === version && Date.now() - hit.at < 10_000) return hit.value as T
    if (this.#cache.size > 500) this.#cache.clear()
    const value = fn()
    this.#cache.set(key, { version, at: Date.now(), value })
    return value
  }

  #verifiedTimes (): Map<number, number> {
    const rows = this.#db.prepare('SELECT candidate_seq AS seq, MAX(received_at) AS at FROM attestations GROUP BY candidate_seq').all() as Array<{ seq: number, at: number }>
    return new Map(rows.map((r) => [r.seq, r.at]))
  }

  #summary (c: CandidateRow, verifiedAt: number | null): CandidateSummary {
    const v = verdictOf(c)
    const extras = extrasOf(c.submission)
    return {
      seq: c.seq, commit: c.commit_oid, parent: c.parent_oid, submitter: c.submitter, submitterName: extras.name, team: extras.team,
      originSeq: c.origin_seq, state: c.state, reason: c.reason,
      description: c.description, claimedMetric: c.claimed_metric, verifiedMetric: v?.candidateMetric ?? null, baselineMetric: v?.baselineMetric ?? null,
      meanImprovement: v?.meanImprovement ?? null, claimContradicted: v?.claimContradicted ?? false, receivedAt: c.received_at, verifiedAt
    }
  }

  candidates (): CandidateSummary[] {
    return this.cached('candidates', () => {
      const times = this.#verifiedTimes()
      return this.coordinator.store.candidates().map((c) => this.#summary(c, times.get(c.seq) ?? null))
    })
  }

  merges (): MergeView[] {
    return this.cached('merges', () => this.coordinator.store.merges().map((m) => {
      const c = m.candidate_seq === null ? undefined : this.coordinator.store.candidate(m.candidate_seq)
      const gain = m.metric !== null && m.baseline_metric !== null ? improvement(this.coordinator.manifest, m.baseline_metric, m.metric) : null
      return {
        seq: m.seq - 1, kind: m.kind, commit: m.commit_oid, parent: m.parent_oid, candidateSeq: m.candidate_seq, submitter: c?.submitter ?? null,
        submitterName: c === undefined ? null : extrasOf(c.submission).name,
        description: c?.description ?? null, metric: m.metric, baselineMetric: m.baseline_metric, gain, mergedAt: m.merged_at, revertedAt: m.reverted_at
      }
    }))
  }

  /** Every verified candidate as a point, and the best as a step line over time. */
  chart (): ChartView {
    return this.cached('chart', () => {
      const points = this.candidates().filter((c) => c.verifiedMetric !== null)
        .map((c) => ({ seq: c.seq, time: c.verifiedAt ?? c.receivedAt, metric: c.verifiedMetric as number, state: c.state }))
      const merges = this.merges()
      const initial = this.coordinator.status().baselineMetric
      const known = new Map<string, number>()
      const best = merges.flatMap((m) => {
        // A revert row names a commit that was the best before; the initial one has the first baseline measurement.
        const metric = m.kind === 'initial' ? initial : m.metric ?? known.get(m.commit) ?? null
        if (metric === null) return []
        known.set(m.commit, metric)
        return [{ time: m.mergedAt, metric, commit: m.commit }]
      })
      return { points, best }
    })
  }

  network (now = Date.now()): NetworkView {
    return this.cached('network', () => {
      const db = this.#db
      const count = (sql: string, ...args: unknown[]): number => (db.prepare(sql).get(...args) as { n: number }).n
      const attestations = db.prepare('SELECT body FROM attestations WHERE id IN (SELECT MAX(id) FROM attestations GROUP BY verifier)').all() as Array<{ body: string }>
      const verifierHw = attestations.flatMap((a) => (JSON.parse(a.body) as { hardware?: Hardware }).hardware ?? [])
      const workerHw = [...this.#latestExtras().values()].flatMap((e) => e.hardware ?? [])
      const recent = db.prepare('SELECT body FROM attestations WHERE received_at >= ?').all(now - HOUR) as Array<{ body: string }>
      return {
        submitters: {
          total: count('SELECT COUNT(DISTINCT submitter) AS n FROM candidates WHERE origin_seq IS NULL'),
          last24h: count('SELECT COUNT(DISTINCT submitter) AS n FROM candidates WHERE origin_seq IS NULL AND received_at >= ?', now - DAY)
        },
        verifiers: {
          total: count('SELECT COUNT(DISTINCT verifier) AS n FROM attestations'),
          last24h: count('SELECT COUNT(DISTINCT verifier) AS n FROM attestations WHERE received_at >= ?', now - DAY)
        },
        candidatesLastHour: count('SELECT COUNT(*) AS n FROM candidates WHERE origin_seq IS NULL AND received_at >= ?', now - HOUR),
        candidatesLast24h: count('SELECT COUNT(*) AS n FROM candidates WHERE origin_seq IS NULL AND received_at >= ?', now - DAY),
        verificationRunsLastHour: recent.reduce((n, a) => n + 2 * (JSON.parse(a.body) as { trials: unknown[] }).trials.length, 0),
        openLeases: count("SELECT COUNT(*) AS n FROM jobs WHERE state = 'leased' AND lease_expires_at >= ?", now),
        verifierHardware: hardwareClasses(verifierHw).map((c) => ({ class: c.class, verifiers: c.count, gpus: c.gpus })),
        experimentsPerHour: null,
        workerHardware: workerHw.length === 0 ? null : hardwareClasses(workerHw).map((c) => ({ class: c.class, workers: c.count, gpus: c.gpus }))
      }
    })
  }

  /** Per submitter: name, team and hardware from its latest submission that carried them. */
  #latestExtras (): Map<string, Extras> {
    const rows = this.#db.prepare('SELECT submitter, submission FROM candidates WHERE origin_seq IS NULL ORDER BY seq').all() as Array<{ submitter: string, submission: string }>
    const out = new Map<string, Extras>()
    for (const r of rows) {
      const e = extrasOf(r.submission)
      const before = out.get(r.submitter)
      out.set(r.submitter, e.hasProfile || before === undefined ? { ...e, hardware: e.hardware ?? before?.hardware ?? null } : { ...before, hardware: e.hardware ?? before.hardware })
    }
    return out
  }

  /** Teams by verified credit; null while no submitter has named one. */
  teams (): TeamView[] | null {
    return this.cached('teams', () => {
      const teams = new Map<string, TeamView>()
      for (const c of this.contributors()) {
        if (c.team === null) continue
        const t = teams.get(c.team) ?? { team: c.team, members: 0, verifiedGain: 0, merges: 0, verificationRuns: 0 }
        t.members++
        t.verifiedGain += c.verifiedGain
        t.merges += c.merges
        t.verificationRuns += c.verificationRuns
        teams.set(c.team, t)
      }
      return teams.size === 0 ? null : [...teams.values()].sort((a, b) => b.verifiedGain - a.verifiedGain || b.merges - a.merges)
    })
  }

  contributors (): ContributorView[] {
    return this.cached('contributors', () => {
      const extras = this.#latestExtras()
      const submitted = new Map((this.#db.prepare('SELECT submitter, COUNT(*) AS n FROM candidates WHERE origin_seq IS NULL GROUP BY submitter').all() as Array<{ submitter: string, n: number }>).map((r) => [r.submitter, r.n]))
      return credits(this.coordinator.store, this.coordinator.manifest)
        .map((c) => ({ ...c, submitted: submitted.get(c.publicKey) ?? 0 }))
        .filter((c) => c.submitted > 0 || c.verificationRuns > 0 || c.merges > 0)
        .map((c, i) => ({
          rank: i + 1, publicKey: c.publicKey, name: extras.get(c.publicKey)?.name ?? null, team: extras.get(c.publicKey)?.team ?? null, verifiedGain: c.verifiedGain, merges: c.merges, verificationRuns: c.verificationRuns, submitted: c.submitted,
          accepted: c.accepted, rejected: c.rejected, contradicted: c.contradicted, banned: c.banned
        }))
    })
  }

  queue (): { pending: CandidateSummary[], merged: CandidateSummary[], closed: CandidateSummary[] } {
    return this.cached('queue', () => {
      const all = this.candidates()
      const bySeq = new Map(all.map((c) => [c.seq, c]))
      const rows = this.coordinator.store.candidates()
      const verifying = rows.filter((c) => c.state === 'verifying')
      const queued = queueOrder(this.coordinator.manifest, rows.filter((c) => c.state === 'queued'))
      const pending = [...verifying, ...queued].map((c) => bySeq.get(c.seq) as CandidateSummary)
      const latestFirst = [...all].reverse()
      return {
        pending,
        merged: latestFirst.filter((c) => c.state === 'merged'),
        closed: latestFirst.filter((c) => c.state !== 'merged' && c.state !== 'queued' && c.state !== 'verifying')
      }
    })
  }

  /** A candidate with its trials, attestations and (once decided) its diff; undefined if unknown. */
  async candidate (seq: number): Promise<CandidateDetail | undefined> {
    const store = this.coordinator.store
    const c = store.candidate(seq)
    if (c === undefined) return undefined
    const v = verdictOf(c)
    const attestations = this.#db.prepare('SELECT a.verifier, a.body, a.received_at, j.round FROM attestations a JOIN jobs j ON j.id = a.job_id WHERE a.candidate_seq = ? ORDER BY a.id').all(seq) as Array<{ verifier: string, body: string, received_at: number, round: number }>
    const parsed = attestations.map((a) => ({ a, body: JSON.parse(a.body) as { hardware?: Hardware, trials: Array<Trial> } }))
    const origin = c.origin_seq ?? c.seq
    const family = this.#db.prepare('SELECT seq, state FROM candidates WHERE origin_seq = ? ORDER BY seq').all(origin) as Array<{ seq: number, state: CandidateState }>
    const merge = this.#db.prepare("SELECT seq, merged_at, reverted_at FROM merges WHERE candidate_seq = ? AND kind = 'merge' ORDER BY seq DESC LIMIT 1").get(seq) as { seq: number, merged_at: number, reverted_at: number | null } | undefined
    const hidden = this.#diffHidden(c, family)
    return {
      ...this.#summary(c, attestations.length > 0 ? Math.max(...attestations.map((a) => a.received_at)) : null),
      tree: c.tree_oid,
      workerHardware: extrasOf(c.submission).hardware,
      seeds: (JSON.parse(c.seeds) as number[][]).flat(),
      rounds: c.rounds,
      trials: v?.trials ?? parsed.flatMap(({ a, body }) => body.trials.map((t) => ({ ...t, verifier: a.verifier }))),
      test: v?.test ?? null,
      disagreeing: v?.disagreeing ?? [],
      attestations: parsed.map(({ a, body }) => ({ verifier: a.verifier, round: a.round, receivedAt: a.received_at, hardware: body.hardware ?? null, trials: body.trials.length })),
      rebasedFrom: c.origin_seq,
      rebasedAs: c.state === 'rebased' ? family.filter((f) => f.seq > c.seq).map((f) => f.seq) : [],
      merge: merge === undefined ? null : { seq: merge.seq - 1, mergedAt: merge.merged_at, revertedAt: merge.reverted_at },
      diff: hidden === null ? await this.#diff(c.parent_oid, c.commit_oid) : null,
      diffHidden: hidden
    }
  }

  /**
   * The coordinator gives a pending candidate's objects only to verifiers (so nobody can
   * copy a change and claim a variant of it first); the site keeps the same rule.
   */
  #diffHidden (c: CandidateRow, family: Array<{ seq: number, state: CandidateState }>): string | null {
    if (c.state === 'rebased') {
      return family.some((f) => f.seq > c.seq && !DECIDED.has(f.state) && f.state !== 'stale' && f.state !== 'rebased')
        ? 'Its rebase is still being verified; the change is published once verification decides.'
        : null
    }
    if (c.state === 'stale') return 'The change could not be carried onto the new best; it stays private so its author can redo it.'
    if (!DECIDED.has(c.state)) return 'The change is published once verification decides.'
    return null
  }

  async #diff (parent: string, commit: string): Promise<FileDiff[]> {
    const key = `${parent}..${commit}`
    const hit = this.#diffs.get(key)
    if (hit !== undefined) return hit
    const gitdir = this.coordinator.paths.gitdir
    let files: FileDiff[]
    try {
      const changes = await changedPaths(gitdir, parent, commit)
      files = []
      for (const { path, change } of changes) {
        const before = change === 'added' ? '' : await readFileAt(gitdir, parent, path)
        const after = change === 'deleted' ? '' : await readFileAt(gitdir, commit, path)
        const binary = (before ?? '').includes('\u0000') || (after ?? '').includes('\u0000')
        const unavailable = before === undefined || after === undefined
        files.push({ path, change, binary, unavailable, diff: binary || unavailable ? null : lineDiff(before, after) })
      }
    } catch {
      files = [{ path: '(all files)', change: 'modified', binary: false, unavailable: true, diff: null }]
    }
    if (this.#diffs.size >= 200) this.#diffs.delete(this.#diffs.keys().next().value as string)
    this.#diffs.set(key, files)
    return files
  }

  /** The initial commit, or a commit some candidate made; undefined if this coordinator never published or received it. */
  async commit (oid: string): Promise<{ kind: 'candidate', seq: number } | { kind: 'initial', merge: MergeView, metric: number | null, files: string[] } | undefined> {
    const c = this.coordinator.store.candidateByCommit(oid)
    if (c !== undefined) return { kind: 'candidate', seq: c.seq }
    const merge = this.merges().find((m) => m.commit === oid && m.kind === 'initial')
    if (merge === undefined) return undefined
    let files: string[] = []
    try {
      files = [...(await flattenTree(this.coordinator.paths.gitdir, (await commitTree(this.coordinator.paths.gitdir, oid)).tree)).keys()].sort()
    } catch { files = [] }
    return { kind: 'initial', merge, metric: this.coordinator.status().baselineMetric, files }
  }
}
