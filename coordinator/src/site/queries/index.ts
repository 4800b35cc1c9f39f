import { randomBytes } from 'node:crypto'
import { candidate, type CandidateDetail } from './candidate.ts'
import { CandidateSummaries, SubmitterExtras, type CandidateSummary } from './candidates.ts'
import { ViewCache } from './cache.ts'
import { code, file, type CodeView, type FileView } from './code.ts'
import { contributors, teams, type ContributorView, type TeamView } from './contributors.ts'
import type { SiteDeps } from './deps.ts'
import { experimentsPage, experimentsTsv, tried, type ExperimentView, type TriedView } from './experiments.ts'
import { CommitFiles } from './files.ts'
import { hardware, type HardwareView } from './hardware.ts'
import { hypotheses, latestDigest, type DigestView, type HypothesisView } from './hypotheses.ts'
import { merges, type MergeView } from './merges.ts'
import { network, type NetworkView } from './network.ts'
import { bestLine, chartPoints, overview, type ChartView, type OverviewView } from './overview.ts'
import { queue, type QueueView } from './queue.ts'

export type { AttestationView, CandidateDetail } from './candidate.ts'
export type { CandidateSummary } from './candidates.ts'
export type { CodeFile, CodeView, FileView } from './code.ts'
export type { ContributorView, TeamView } from './contributors.ts'
export type { SiteDeps, SiteStore } from './deps.ts'
export type { ExperimentView, TriedView } from './experiments.ts'
export type { ExtraFigure } from './extras.ts'
export type { FileDiff } from './files.ts'
export type { ClassBest, HardwareView } from './hardware.ts'
export type { DigestView, HypothesisState, HypothesisView } from './hypotheses.ts'
export type { MergeView } from './merges.ts'
export type { NetworkView } from './network.ts'
export type { ChartView, OverviewView } from './overview.ts'
export type { QueueView } from './queue.ts'

/** What a commit page shows: a candidate's commit, or the cause's initial one. */
export type CommitView = { kind: 'candidate', seq: number } | { kind: 'initial', merge: MergeView, metric: number | null, files: string[] }

/**
 * The site's views of the store: plain JSON-able objects, the same for the HTML pages
 * and the `/api/…` routes, each memoised until the database changes. Reads only
 * (credits() may add an empty identity row for a verifier it has not seen, which
 * changes nothing observable).
 */
export class SiteQueries {
  readonly #deps: SiteDeps
  readonly #cache: ViewCache
  readonly #files: CommitFiles
  readonly #summaries = new CandidateSummaries()
  readonly #extras = new SubmitterExtras()
  readonly #boot = randomBytes(6).toString('hex')
  readonly #points = new WeakMap<readonly CandidateSummary[], Pick<ChartView, 'points' | 'pointsTotal'>>()
  readonly #queues = new WeakMap<readonly CandidateSummary[], QueueView>()

  constructor (deps: SiteDeps) {
    this.#deps = deps
    this.#cache = new ViewCache(() => deps.store.views.version())
    this.#files = new CommitFiles(deps.paths.gitdir)
  }

  candidates (): CandidateSummary[] { return this.#cache.get('candidates', () => this.#summaries.read(this.#deps.store)) }

  /**
   * Reads what the site's first look needs in slices, off any request's path (serve.ts starts it
   * with the server): until it is done a page reads the rest at once, as before.
   */
  async warm (opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#summaries.warm(this.#deps.store, opts)
    await this.#extras.warm(this.#deps.store, opts)
  }

  /**
   * Every candidate's line with a tag that changes exactly when the list does (the export's
   * ETag, so a download is not hashed whole to say it did not change). The tag is this site's
   * own: another process, or a home made again, never reuses one.
   */
  candidatesTagged (): { list: CandidateSummary[], tag: string } {
    const list = this.candidates()
    return { list, tag: `${this.#boot}-${this.#summaries.mark}` }
  }
  merges (): MergeView[] { return this.#cache.get('merges', () => merges(this.#deps)) }
  chart (): ChartView { return this.#cache.get('chart', () => ({ ...this.#ofList(this.#points, chartPoints), best: bestLine(this.merges(), this.#deps.status().baselineMetric) })) }
  network (): NetworkView { return this.#cache.get('network', () => network(this.#deps, this.#extras.read(this.#deps.store))) }
  /** How hardware matters to the cause, its reference class, and the best verified on each class. */
  hardware (): HardwareView { return this.#cache.get('hardware', () => hardware(this.#deps)) }
  contributors (): ContributorView[] { return this.#cache.get('contributors', () => contributors(this.#deps, this.#extras.read(this.#deps.store))) }
  teams (): TeamView[] | null { return this.#cache.get('teams', () => teams(this.contributors())) }
  queue (): QueueView { return this.#cache.get('queue', () => this.#ofList(this.#queues, (list) => queue(this.#deps.manifest, list))) }

  /**
   * A view of the candidate list, made again only when the list changed: most writes at scale
   * are experiment reports, which change the database (so every memoised view) but no candidate.
   */
  #ofList<T> (memo: WeakMap<readonly CandidateSummary[], T>, fn: (list: readonly CandidateSummary[]) => T): T {
    const list = this.candidates()
    let view = memo.get(list)
    if (view === undefined) {
      view = fn(list)
      memo.set(list, view)
    }
    return view
  }

  /** What was tried on `best` (a commit that is or was the best): counts by status, the best run, the latest reports. */
  tried (best: string): TriedView { return this.#cache.get(`tried:${best}`, () => tried(this.#deps, best)) }

  /** What was tried on a candidate's commit when it is or was the best (a merge made it one); null otherwise. */
  triedOn (c: Pick<CandidateDetail, 'commit' | 'merge'>): TriedView | null { return c.merge === null ? null : this.tried(c.commit) }

  /**
   * A page of the experiment log in arrival order. Not memoised: its key would be any
   * (best, since, limit) a client sends, and it is one indexed read.
   */
  experiments (q: { best?: string, since: number, limit: number }): { experiments: ExperimentView[], more: boolean } {
    return experimentsPage(this.#deps, q)
  }

  /** The experiment log (on `best` when given) as results.tsv. */
  experimentsTsv (best?: string): string { return this.#cache.get(`experiments.tsv:${best ?? ''}`, () => experimentsTsv(this.#deps, best)) }

  /** The newest hypotheses (at most MAX_HYPOTHESES), newest first, each with the experiments that tested it. */
  hypotheses (): HypothesisView[] { return this.#cache.get('hypotheses', () => hypotheses(this.#deps)) }

  /** The latest digest of findings, or null before one was written. */
  digest (): DigestView | null { return this.#cache.get('digest', () => latestDigest(this.#deps)) }

  overview (join: string): OverviewView {
    return this.#cache.get('overview', () => overview(this.#deps, { merges: this.merges(), chart: this.chart(), network: this.network(), tried: this.tried(this.#deps.status().best.commit), digest: this.digest(), join }))
  }

  async candidate (seq: number): Promise<CandidateDetail | undefined> {
    return candidate(this.#deps, this.#files, this.merges(), seq)
  }

  /** The files of a commit that is or was the best, marked editable or protected; undefined for any other commit. */
  async code (commit: string): Promise<CodeView | undefined> { return code(this.#deps, this.#files, this.merges(), commit) }

  /** One file of a commit that is or was the best, size-capped; undefined when there is none. */
  async file (commit: string, path: string): Promise<FileView | undefined> { return file(this.#deps, this.#files, this.merges(), commit, path) }

  /** The initial commit, or a commit some candidate made; undefined if this coordinator never published or received it. */
  async commit (oid: string): Promise<CommitView | undefined> {
    const c = this.#deps.store.candidateByCommit(oid)
    if (c !== undefined) return { kind: 'candidate', seq: c.seq }
    const merge = this.merges().find((m) => m.commit === oid && m.kind === 'initial')
    if (merge === undefined) return undefined
    return { kind: 'initial', merge, metric: this.#deps.status().baselineMetric, files: await this.#files.paths(oid) }
  }
}
