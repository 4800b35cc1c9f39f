/**
 * Builds and stores merge groups (rules/groups.ts decides which): the members' own changes
 * merged onto the best one after another, in queue order, as one group commit that is
 * verified once and, when it passes, merged as one step crediting each member's author
 * with the gain its own verification measured (admin.ts `credits`).
 */
import { changedPaths, commitTree, commitTreeOn, mergeTrees, protectedChanges } from '@autoresearch/protocol'
import { rebaseCandidate, type RebaseContext, type RebaseOutcome } from './rebase.ts'
import { membersOf } from './group-members.ts'
import type { Passer } from './rules/groups.ts'
import type { CandidateRow, Store } from './store/index.ts'
import { newCandidate } from './new-candidate.ts'

/** A passed candidate as rules/groups.ts reads it: whether it goes alone, and the failed group it comes from. */
export function passerOf (store: Pick<Store, 'groupMembers' | 'lastGroupOf'>, c: CandidateRow, best: string): Passer {
  const alone = membersOf(store, c).length > 0 || c.parent_oid === best
  const last = store.lastGroupOf(c.seq)
  return { seq: c.seq, parent_oid: c.parent_oid, alone, ...(last === undefined ? {} : { failedGroup: { seq: last, members: store.groupMembers(last).map((m) => m.seq) } }) }
}

export type GroupOutcome =
  | { state: 'grouped', groupSeq: number, members: number[], others: RebaseOutcome[] }
  | { state: 'single', outcome: RebaseOutcome, others: RebaseOutcome[] }

/**
 * Carries `members` (passed against older bests, queue order) onto `best` as one group
 * candidate. A member whose change conflicts with the best or with the members before it
 * is left out and marked stale, as a rebase would be; with one member left it is a plain
 * rebase. The group's receipt is the coordinator's; its members' authors never verify it.
 */
export async function buildGroup (ctx: RebaseContext, members: CandidateRow[], best: string): Promise<GroupOutcome> {
  const { gitdir, store, manifest } = ctx
  const taken: CandidateRow[] = []
  const stale: RebaseOutcome[] = []
  let head = best
  for (const member of members) {
    const merged = await mergeTrees(gitdir, member.commit_oid, head, { base: member.parent_oid }).catch((err: Error) => ({ conflicts: [err.message] }))
    if ('conflicts' in merged) {
      const reason = `its change conflicts with the new best ${best.slice(0, 10)} or with the candidates grouped before it (${taken.map((m) => `#${m.seq}`).join(', ')}) in ${merged.conflicts.join(', ') || 'its files'}; start from the new best`
      store.setCandidateState(member.seq, 'stale', reason)
      stale.push({ state: 'stale', candidate: member, reason, conflicts: merged.conflicts })
      continue
    }
    // An empty change (the best or the group has it already) adds nothing: the commit would equal its parent's tree.
    if (merged.tree === (await commitTree(gitdir, head)).tree) {
      const reason = 'the new best, with the candidates grouped before it, already contains its change'
      store.setCandidateState(member.seq, 'stale', reason)
      stale.push({ state: 'stale', candidate: member, reason, conflicts: [] })
      continue
    }
    head = await commitTreeOn(gitdir, merged.tree, head, `group: #${member.seq}`, 'autoresearch-coordinator')
    taken.push(member)
  }
  if (taken.length === 0) return { state: 'single', outcome: stale[0] as RebaseOutcome, others: stale.slice(1) }
  if (taken.length === 1) return { state: 'single', outcome: await rebaseCandidate(ctx, taken[0] as CandidateRow, best), others: stale }
  const tree = (await commitTree(gitdir, head)).tree
  // A tree someone submitted as it is stays theirs: the members go on one by one instead.
  if (store.candidateByTree(tree) !== undefined) {
    const [first, ...rest] = taken as [CandidateRow, ...CandidateRow[]]
    for (const member of rest) stale.push(await rebaseCandidate(ctx, member, best))
    return { state: 'single', outcome: await rebaseCandidate(ctx, first, best), others: stale }
  }
  const description = `Merge group of ${taken.map((m) => `#${m.seq}`).join(', ')}: ${taken.map((m) => m.description).join('; ')}`.slice(0, 2000)
  const commit = await commitTreeOn(gitdir, tree, best, description, 'autoresearch-coordinator')
  const refused = protectedChanges(manifest, await changedPaths(gitdir, best, commit))
  if (refused.length > 0) throw new Error(`a merge group would change protected files (${refused.map((c) => c.path).join(', ')}), which no member does`)
  const first = taken[0] as CandidateRow
  // The queue reads the claim: the group goes where its most promising member would.
  const row = newCandidate(ctx, {
    commit, tree, parent: best, submitter: ctx.identity.publicKey, claimedMetric: first.claimed_metric, description, submission: first.submission, origin: null
  })
  store.insertGroup(row, taken.map((m) => m.seq))
  return { state: 'grouped', groupSeq: row.seq, members: taken.map((m) => m.seq), others: stale }
}
