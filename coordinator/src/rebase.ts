import { changedPaths, commitTree, commitTreeOn, isStorageFull, mergeTrees, protectedChanges, type Identity, type Manifest } from '@autoresearch/protocol'
import { membersOf } from './group-members.ts'
import type { CandidateRow, MergeRow, Store } from './store/index.ts'
import { newCandidate } from './new-candidate.ts'
import { carriesOwnLines } from './rules/conflict-carry.ts'

export interface RebaseContext {
  causeId: string
  gitdir: string
  store: Store
  manifest: Manifest
  identity: Identity
}

export type RebaseOutcome =
  | { state: 'rebased', candidate: CandidateRow, newSeq: number, ownLines?: string[] }
  | { state: 'stale', candidate: CandidateRow, reason: string, conflicts: string[] }

/** `ahead`: carry it onto this candidate, still being verified (speculation), not the best; when it does not fit, the candidate is left as it is. */
export interface RebaseOptions { ahead?: CandidateRow }

/** The verified metric of `best` when it is the latest merge's commit (a carry's target); otherwise none. */
function verifiedMetricOf (store: Pick<Store, 'lastMerge'>, best: string): number | null {
  const last = store.lastMerge()
  return last?.commit_oid === best ? last.metric : null
}

/** Names the reverted merge a candidate was built on, for the reasons a person reads. */
const withoutReverted = (merge: MergeRow | undefined): string =>
  merge === undefined ? '' : `it was built on merge ${merge.index} (${merge.commit_oid.slice(0, 10)}), which the operator reverted; without that merge `

/**
 * A candidate's own change (its parent the merge base, as every carry takes it) merged onto
 * `onto`: the tree, the paths that conflict, or `failed` with git's message when git itself
 * failed on it. A full disk throws: it is not the candidate's doing, so the candidate stays as it
 * was and a later turn carries it (rebaseCandidate, and mergeInOrder for groups and batches).
 */
export async function mergeOwnChange (gitdir: string, candidate: Pick<CandidateRow, 'commit_oid' | 'parent_oid'>, onto: string, opts: { favor?: 'commit' } = {}): Promise<{ tree: string, favored?: string[] } | { conflicts: string[] } | { failed: string }> {
  try {
    return await mergeTrees(gitdir, candidate.commit_oid, onto, { base: candidate.parent_oid, ...opts })
  } catch (err) {
    if (isStorageFull(err)) throw err
    return { failed: (err as Error).message }
  }
}

/**
 * Carries a candidate whose parent is no longer the best onto the best: its own change
 * only (mergeTrees with the parent as base), so a merge the operator reverted never comes back through
 * a candidate built on it. A clean merge becomes a new candidate, credited to the same
 * submitter, verified again against the new best; a conflict, an empty change or a
 * tree already taken makes it stale. A full disk throws, leaving the candidate as it was.
 */
export async function rebaseCandidate (ctx: RebaseContext, candidate: CandidateRow, best: string, opts: RebaseOptions = {}): Promise<RebaseOutcome> {
  const { gitdir, store, manifest } = ctx
  const reverted = store.revertedMerge(candidate.parent_oid)
  const { ahead } = opts
  const goStale = (reason: string, conflicts: string[] = []): RebaseOutcome => {
    if (ahead === undefined) store.setCandidateState(candidate.seq, 'stale', reason)
    return { state: 'stale', candidate, reason, conflicts }
  }
  // Speculation carries onto a candidate not yet verified, so there is no verified metric to beat; and a
  // conflicting hunk taken whole from a candidate built on a reverted merge could bring that merge's lines back.
  const favor = ahead === undefined && reverted === undefined && carriesOwnLines(manifest, candidate.claimed_metric, () => verifiedMetricOf(store, best))
  // One merge either way: with `favor` a clean carry has the same tree, and what lines cannot settle still conflicts.
  const merged = await mergeOwnChange(gitdir, candidate, best, favor ? { favor: 'commit' } : {})
  if ('failed' in merged) return goStale(`${withoutReverted(reverted)}it cannot be merged onto the new best ${best.slice(0, 10)}: ${merged.failed}`)
  if ('conflicts' in merged) {
    return goStale(`${withoutReverted(reverted)}its change conflicts with the new best ${best.slice(0, 10)} in ${merged.conflicts.join(', ') || 'its files'}; start from the new best`, merged.conflicts)
  }
  const mergedTree = merged.tree
  const favored = merged.favored ?? []
  const ownLinesNote = favored.length === 0 ? '' : `, its own lines kept where it conflicted with the new best (${favored.join(', ')})`

  const bestTree = (await commitTree(gitdir, best)).tree
  // Its own tree again (it already held the change that merged) is not a duplicate: it is re-verified on the new best.
  const origin = (c: CandidateRow): number => c.origin_seq ?? c.seq
  const found = store.candidateByTree(mergedTree)
  // A merge group's tree is its members' own: after the group failed and a half of it merged, the rest carried is that tree again.
  const ownGroup = found !== undefined && membersOf(store, found).some((m) => origin(m) === origin(candidate))
  const duplicate = found !== undefined && origin(found) !== origin(candidate) && !ownGroup ? found : undefined
  // A reverted merge's tree stays with its first submitter too, so it is never verified again.
  if (mergedTree === bestTree || duplicate !== undefined) {
    const empty = reverted === undefined ? 'the new best already contains its change' : `${withoutReverted(reverted)}its own change is empty`
    return goStale(mergedTree === bestTree ? empty : `rebased onto the new best it equals candidate #${duplicate?.seq}`)
  }
  const onto = ahead === undefined ? '' : ` onto candidate #${ahead.seq}, still being verified`
  const commit = await commitTreeOn(gitdir, mergedTree, best, `${candidate.description}\n\nRebased by the coordinator${onto} from candidate #${candidate.seq} (${candidate.commit_oid})${ownLinesNote}.`, 'autoresearch-coordinator')
  const refused = protectedChanges(manifest, await changedPaths(gitdir, best, commit))
  if (refused.length > 0) {
    return goStale(`rebased onto the new best it would change protected files (${refused.map((c) => c.path).join(', ')})`)
  }

  return store.transaction(() => {
    const row = newCandidate(ctx, {
      commit, tree: mergedTree, parent: best, submitter: candidate.submitter, claimedMetric: candidate.claimed_metric,
      description: candidate.description, submission: candidate.submission, origin: candidate.origin_seq ?? candidate.seq
    })
    store.insertCandidate(row, null)
    store.setCandidateState(candidate.seq, 'rebased', ahead === undefined
      ? `rebased onto ${best.slice(0, 10)} as candidate #${row.seq}${ownLinesNote}`
      : `carried onto candidate #${ahead.seq} (${best.slice(0, 10)}), still being verified, as candidate #${row.seq}: verified on top of it, it merges right after it`)
    return { state: 'rebased' as const, candidate, newSeq: row.seq, ...(favored.length === 0 ? {} : { ownLines: favored }) }
  })
}
