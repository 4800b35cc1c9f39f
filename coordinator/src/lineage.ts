import { OPEN_STATES } from '@autoresearch/protocol'
import type { CandidateRow, Store } from './store/index.ts'

/** Where a candidate's lineage stands: the latest copy it was carried or grouped as, or the candidate itself. */
export function lineageOf (store: Pick<Store, 'candidate' | 'latestRebase'>, first: CandidateRow): CandidateRow {
  if (first.state !== 'rebased') return first
  const latest = store.latestRebase(first.seq)
  return (latest === undefined ? undefined : store.candidate(latest)) ?? first
}

/**
 * Whether `commit` is a candidate whose lineage is still open (itself queued, being verified or
 * passed, or the latest copy it was carried or grouped as): a candidate its author submitted on
 * top of it waits for that verdict (carry-plan.ts).
 */
export function openLineage (store: Pick<Store, 'candidateByCommit' | 'candidate' | 'latestRebase'>, commit: string): boolean {
  const row = store.candidateByCommit(commit)
  return row !== undefined && (OPEN_STATES as readonly string[]).includes(lineageOf(store, row).state)
}
