import type { Manifest } from '@autoresearch/protocol'
import { writeDigest } from './digest.ts'
import type { Store } from './store/index.ts'

/** Reports a digest reads at most (the newest). */
export const DIGEST_EXPERIMENTS = 5000

export type ReportStore = Pick<Store, 'standingMerges' | 'candidate' | 'recentExperiments' | 'openHypotheses' | 'insertDigest'>

/**
 * The reporter: loads what a digest is written from, writes it (digest.ts) and stores it,
 * so that the site shows it and `history` gives it to agents. Run by
 * `autoresearch-coordinator report` and, with `serve --report-every`, periodically.
 */
export function reportDigest (store: ReportStore, manifest: Pick<Manifest, 'name' | 'metric'>, at = Date.now()): { seq: number, text: string } {
  const merges = store.standingMerges().map((m) => ({ index: m.index, description: m.candidate_seq === null ? '' : store.candidate(m.candidate_seq)?.description ?? '', metric: m.metric, baseline: m.baseline_metric }))
  const text = writeDigest({ cause: manifest.name, metric: manifest.metric, merges, experiments: store.recentExperiments(DIGEST_EXPERIMENTS), open: store.openHypotheses(20), at })
  return { seq: store.insertDigest(text, at), text }
}
