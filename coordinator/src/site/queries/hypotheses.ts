import type { DigestRow, HypothesisRow } from '../../store/index.ts'
import type { SiteDeps } from './deps.ts'
import { experimentView, type ExperimentView } from './experiments.ts'

export const HYPOTHESIS_STATES = ['open', 'tested'] as const
export type HypothesisState = typeof HYPOTHESIS_STATES[number]

/**
 * An idea a planner posted for workers to test, with the experiments that said they
 * tested it. The text, the link from each experiment and the results are all
 * self-reported and unverified.
 */
export interface HypothesisView {
  id: number
  /** The network best it was posted on. */
  best: string
  text: string
  /** The planner's public key. */
  author: string
  postedAt: number
  /** `tested` once some experiment reported testing it. */
  state: HypothesisState
  /** The first MAX_RESULTS experiments that tested it, in arrival order. */
  results: ExperimentView[]
  selfReported: true
}

/** The latest digest of findings a reporter wrote: free text, self-reported. */
export interface DigestView {
  seq: number
  writtenAt: number
  text: string
}

/** Hypotheses the site lists at most (the newest), and results it shows of each (the first). */
export const MAX_HYPOTHESES = 500
export const MAX_RESULTS = 20

export function hypothesisView (r: HypothesisRow, results: ExperimentView[]): HypothesisView {
  return { id: r.id, best: r.best_oid, text: r.text, author: r.author, postedAt: r.posted_at, state: results.length === 0 ? 'open' : 'tested', results, selfReported: true }
}

/** The newest hypotheses, newest first, each with its results (one indexed read per hypothesis). */
export function hypotheses (deps: Pick<SiteDeps, 'store'>, limit = MAX_HYPOTHESES): HypothesisView[] {
  return deps.store.hypotheses(limit).map((r) => hypothesisView(r, deps.store.experimentsOfHypothesis(r.id, MAX_RESULTS).map(experimentView)))
}

export const digestView = (r: DigestRow): DigestView => ({ seq: r.seq, writtenAt: r.written_at, text: r.text })

/** The latest digest, or null before a reporter wrote one. */
export function latestDigest (deps: Pick<SiteDeps, 'store'>): DigestView | null {
  const row = deps.store.latestDigest()
  return row === undefined ? null : digestView(row)
}
