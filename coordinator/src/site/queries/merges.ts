import { improvement } from '@autoresearch/protocol'
import type { MergeRow } from '../../store/index.ts'
import { extrasOf } from './candidates.ts'
import type { SiteDeps } from './deps.ts'

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

/** The merge history, oldest first, with each merge's candidate. */
export function merges (deps: Pick<SiteDeps, 'store' | 'manifest'>): MergeView[] {
  return deps.store.merges().map((m) => {
    const c = m.candidate_seq === null ? undefined : deps.store.candidate(m.candidate_seq)
    const gain = m.metric !== null && m.baseline_metric !== null ? improvement(deps.manifest, m.baseline_metric, m.metric) : null
    return {
      seq: m.index, kind: m.kind, commit: m.commit_oid, parent: m.parent_oid, candidateSeq: m.candidate_seq, submitter: c?.submitter ?? null,
      submitterName: c === undefined ? null : extrasOf(c.submission.body).name,
      description: c?.description ?? null, metric: m.metric, baselineMetric: m.baseline_metric, gain, mergedAt: m.merged_at, revertedAt: m.reverted_at
    }
  })
}
