import { setImmediate as nextTurn } from 'node:timers/promises'
import type { Hardware, SubmissionBody } from '@autoresearch/protocol'
import type { CandidateRow, CandidateState, OriginalSubmission, SummaryRow } from '../../store/index.ts'
import type { SiteDeps } from './deps.ts'

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

export interface Extras { name: string | null, team: string | null, hardware: Hardware | null, hasProfile: boolean }

const text = (v: string | undefined): string | null => v !== undefined && v.trim() !== '' ? v : null

/** What a submission says about its sender beyond the protocol's must-haves (all optional, all unverified). */
export function extrasOf (body: SubmissionBody): Extras {
  return { name: text(body.profile?.name), team: text(body.profile?.team), hardware: body.hardware ?? null, hasProfile: body.profile !== undefined }
}

/** A candidate's line in the lists, from the fields the list reads (StoreViews.summariesTouchedAfter). */
export function summaryFrom (r: SummaryRow, verifiedAt: number | null): CandidateSummary {
  return {
    seq: r.seq, commit: r.commit_oid, parent: r.parent_oid, submitter: r.submitter, submitterName: text(r.name ?? undefined), team: text(r.team ?? undefined),
    originSeq: r.origin_seq, state: r.state, reason: r.reason,
    description: r.description, claimedMetric: r.claimed_metric, verifiedMetric: r.candidate_metric, baselineMetric: r.baseline_metric,
    meanImprovement: r.mean_improvement, claimContradicted: r.claim_contradicted === 1, receivedAt: r.received_at, verifiedAt
  }
}

/** The same line from a whole row (a candidate's own page). */
export function summaryOf (c: CandidateRow, verifiedAt: number | null): CandidateSummary {
  const v = c.verdict
  const profile = c.submission.body.profile
  return summaryFrom({
    seq: c.seq, commit_oid: c.commit_oid, parent_oid: c.parent_oid, submitter: c.submitter, origin_seq: c.origin_seq, state: c.state, reason: c.reason,
    description: c.description, claimed_metric: c.claimed_metric, received_at: c.received_at,
    candidate_metric: v?.candidateMetric ?? null, baseline_metric: v?.baselineMetric ?? null, mean_improvement: v?.meanImprovement ?? null,
    claim_contradicted: v === null ? null : (v.claimContradicted ? 1 : 0), name: profile?.name ?? null, team: profile?.team ?? null
  }, verifiedAt)
}

/** Past this many changed rows one aggregate of every attestation is cheaper than a lookup each. */
const LOOKUPS_AT_MOST = 1000
/** Candidates a slice of the first look reads: a lookup each for its time, about 15 ms at 100,000. */
const WARM_SLICE = LOOKUPS_AT_MOST

/**
 * Every candidate, oldest first, kept between looks: after a change only the candidates
 * inserted, updated or attested since the last look are read and decoded again (the store's
 * change marks), so a page after a change costs what changed, not the cause's whole history
 * (docs/benchmarks.md, "History"). One per site; the list it returns is shared, never changed.
 */
export class CandidateSummaries {
  readonly #bySeq = new Map<number, CandidateSummary>()
  #mark = -1
  #list: CandidateSummary[] = []

  /** The store's change mark the current list was read at: it moves exactly when the list changes. */
  get mark (): number { return this.#mark }

  read (store: Pick<SiteDeps['store'], 'views'>): CandidateSummary[] {
    const { rows, mark } = store.views.summariesTouchedAfter(this.#mark)
    if (rows.length === 0) return this.#list
    // A new seq is larger than any before it, so the map's insertion order stays seq order.
    this.#fold(store, rows, rows.length > LOOKUPS_AT_MOST ? store.views.verifiedTimes() : undefined)
    this.#mark = mark
    this.#list = [...this.#bySeq.values()]
    return this.#list
  }

  /**
   * The first look taken in slices of WARM_SLICE candidates by seq, the event loop free between
   * them, so that the first visitor after a coordinator starts does not hold its one thread for
   * the whole history (1.5 s at 100,000 candidates). What changes meanwhile is read by the next
   * `read`, which asks after the first slice's mark; a `read` that comes first makes this stop.
   */
  async warm (store: Pick<SiteDeps['store'], 'views'>, opts: { signal?: AbortSignal } = {}): Promise<void> {
    let after = 0
    let first: number | undefined
    while (this.#mark === -1) {
      opts.signal?.throwIfAborted()
      const { rows, mark } = store.views.summariesAfterSeq(after, WARM_SLICE)
      first ??= mark
      this.#fold(store, rows)
      if (rows.length < WARM_SLICE) {
        this.#mark = first
        this.#list = [...this.#bySeq.values()]
        return
      }
      after = (rows.at(-1) as SummaryRow).seq
      await nextTurn()
    }
  }

  /** Each row as its line, with the time of its latest attestation (`times`, or a lookup each). */
  #fold (store: Pick<SiteDeps['store'], 'views'>, rows: SummaryRow[], times = store.views.verifiedTimesOf(rows.map((c) => c.seq))): void {
    for (const c of rows) this.#bySeq.set(c.seq, summaryFrom(c, times.get(c.seq) ?? null))
  }
}

/**
 * Per submitter: name, team and hardware from its latest submission that carried them, kept
 * between looks. A signed submission never changes, so each is folded in once, in seq order.
 */
export class SubmitterExtras {
  readonly #bySubmitter = new Map<string, Extras>()
  #after = 0

  read (store: Pick<SiteDeps['store'], 'views'>): ReadonlyMap<string, Extras> {
    this.#fold(store.views.originalSubmissionsAfter(this.#after))
    return this.#bySubmitter
  }

  /** The first look in slices, as CandidateSummaries.warm: each slice goes on from wherever a `read` between them left off. */
  async warm (store: Pick<SiteDeps['store'], 'views'>, opts: { signal?: AbortSignal } = {}): Promise<void> {
    for (;;) {
      opts.signal?.throwIfAborted()
      const rows = store.views.originalSubmissionsAfter(this.#after, WARM_SLICE)
      this.#fold(rows)
      if (rows.length < WARM_SLICE) return
      await nextTurn()
    }
  }

  #fold (rows: OriginalSubmission[]): void {
    for (const r of rows) {
      const e = extrasOf(r.body)
      const before = this.#bySubmitter.get(r.submitter)
      this.#bySubmitter.set(r.submitter, e.hasProfile || before === undefined ? { ...e, hardware: e.hardware ?? before?.hardware ?? null } : { ...before, hardware: e.hardware ?? before.hardware })
      this.#after = r.seq
    }
  }
}
