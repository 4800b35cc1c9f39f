import { OPEN_STATES } from '@autoresearch/protocol'
import type { CandidateRow, Store } from './store/index.ts'

/** Where a candidate's lineage stands: the latest copy it was carried or grouped as, or the candidate itself. */
export function lineageOf (store: Pick<Store, 'candidate' | 'latestRebase'>, first: CandidateRow): CandidateRow {
  if (first.state !== 'rebased') return first
  const latest = store.latestRebase(first.seq)
  return (latest === undefined ? undefined : store.candidate(latest)) ?? first
}

/**
 * The open end of `commit`'s lineage, when `commit` is a candidate whose lineage is still open
 * (itself queued, being verified or passed, or the latest copy it was carried or grouped as):
 * a candidate its author submitted on top of it waits for that verdict (carry-plan.ts), and its
 * page says so (site/queries/candidate.ts).
 */
export function openLineageOf (store: Pick<Store, 'candidateByCommit' | 'candidate' | 'latestRebase'>, commit: string): CandidateRow | undefined {
  const row = store.candidateByCommit(commit)
  const end = row === undefined ? undefined : lineageOf(store, row)
  return end !== undefined && (OPEN_STATES as readonly string[]).includes(end.state) ? end : undefined
}
