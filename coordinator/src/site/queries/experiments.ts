import { RESULTS_TSV_HEADER, resultsTsvLine, tsvText, type ExperimentStatus } from '@autoresearch/protocol'
import type { ExperimentRow } from '../../store/index.ts'
import { defuse } from '../csv.ts'
import type { SiteDeps } from './deps.ts'

/**
 * One experiment a worker reported: any run it made on a best (kept, discarded, crashed,
 * or not confirmed on a second seed). Self-reported and unverified: nothing here ever
 * changes the best.
 */
export interface ExperimentView {
  seq: number
  /** The reporting worker's public key. */
  worker: string
  /** The network best the worker ran it on. */
  best: string
  /** The experiment's commit in the worker's own repository (an id, as in results.tsv; the coordinator never has it). */
  commit: string
  status: ExperimentStatus
  /** Null for a crash; for `unconfirmed`, the confirmation run's. */
  metric: number | null
  noise: number | null
  seed: number
  description: string
  /** The edit as a unified diff, cut at 8 KiB. */
  diff: string
  diffHash: string
  /** Which constants the edit moves and which way (e.g. `train.py:LR:up`); null when it moves none. */
  nearKey: string | null
  /** The planner's hypothesis the worker said this experiment tested (an id in `/api/hypotheses`), or null. */
  hypothesis: number | null
  /** The hardware class the worker's batch said it ran on, if it said. */
  hardware: string | null
  reportedAt: number
  receivedAt: number
  selfReported: true
}

/** What was tried on one best: reports by status, the one with the best metric, the latest ones. */
export interface TriedView {
  best: string
  total: number
  counts: Record<ExperimentStatus, number>
  /** The report with the best metric in the cause's direction (any status; the earliest on a tie), or null. */
  bestRun: ExperimentView | null
  /** The newest reports, newest first. */
  latest: ExperimentView[]
}

/** Reports a page of the log holds at most, and the default. */
export const MAX_EXPERIMENTS_PAGE = 1000
export const DEFAULT_EXPERIMENTS_PAGE = 100
/** Rows the TSV export holds at most (the oldest), and how many it reads at a time. */
export const MAX_EXPERIMENTS_TSV = 100_000
const TSV_CHUNK = 1000
/** The latest reports a summary holds. */
export const TRIED_LATEST = 10

export const experimentView = (r: ExperimentRow): ExperimentView => ({
  seq: r.seq,
  worker: r.worker,
  best: r.best_oid,
  commit: r.commit_oid,
  status: r.status,
  metric: r.metric,
  noise: r.noise,
  seed: r.seed,
  description: r.description,
  diff: r.diff,
  diffHash: r.diff_hash,
  nearKey: r.near_key,
  hypothesis: r.hypothesis,
  hardware: r.hardware,
  reportedAt: r.reported_at,
  receivedAt: r.received_at,
  selfReported: true
})

/** One page of the log in arrival order: reports after `since`, on `best` when given; `more` when the log goes on past it. */
export function experimentsPage (deps: Pick<SiteDeps, 'store'>, q: { best?: string, since: number, limit: number }): { experiments: ExperimentView[], more: boolean } {
  const rows = deps.store.experiments({ best: q.best, since: q.since, limit: q.limit + 1 })
  return { experiments: rows.slice(0, q.limit).map(experimentView), more: rows.length > q.limit }
}

/** Counts by status, the best run and the latest reports on `best`. */
export function tried (deps: Pick<SiteDeps, 'store' | 'manifest'>, best: string, latest = TRIED_LATEST): TriedView {
  const tally = deps.store.experimentTally(best, deps.manifest.metric.direction)
  const counts = { keep: 0, discard: 0, crash: 0, unconfirmed: 0, ...tally.counts }
  return {
    best,
    total: Object.values(counts).reduce((a, n) => a + n, 0),
    counts,
    bestRun: tally.best === undefined ? null : experimentView(tally.best),
    latest: deps.store.latestExperimentsOn(best, latest).map(experimentView)
  }
}

const UNCONFIRMED = ' (not confirmed on a second seed)'

/** A report as a results.tsv line: autoresearch knows keep, discard and crash, so `unconfirmed` is a discard that says why. */
export function experimentTsvLine (e: Pick<ExperimentView, 'commit' | 'metric' | 'status' | 'description'>): string {
  const unconfirmed = e.status === 'unconfirmed'
  const text = defuse(tsvText(e.description))
  // Cut to make room first, so that the note survives the line's 300 characters.
  const description = unconfirmed ? `${text.slice(0, 300 - UNCONFIRMED.length)}${UNCONFIRMED}` : text
  return resultsTsvLine({ commit: e.commit, metric: e.metric, memoryGb: null, status: unconfirmed ? 'discard' : e.status, description })
}

/**
 * The reports (on `best` when given) in autoresearch's results.tsv columns, oldest first,
 * at most MAX_EXPERIMENTS_TSV rows, read a chunk at a time (each row carries its diff).
 */
export function experimentsTsv (deps: Pick<SiteDeps, 'store'>, best?: string): string {
  const lines = [RESULTS_TSV_HEADER]
  let since = 0
  while (lines.length - 1 < MAX_EXPERIMENTS_TSV) {
    const rows = deps.store.experiments({ best, since, limit: Math.min(TSV_CHUNK, MAX_EXPERIMENTS_TSV - (lines.length - 1)) })
    for (const r of rows) lines.push(experimentTsvLine({ commit: r.commit_oid, metric: r.metric, status: r.status, description: r.description }))
    const last = rows[rows.length - 1]
    if (last === undefined || rows.length < TSV_CHUNK) break
    since = last.seq
  }
  return lines.join('\n') + '\n'
}
