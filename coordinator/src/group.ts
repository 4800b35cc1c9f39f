/**
 * Builds and stores merge groups (rules/groups.ts decides which): the members' own changes
 * merged onto the best one after another, in queue order, as one group commit that is
 * verified once and, when it passes, merged as one step crediting each member's author
 * with the gain its own verification measured (admin.ts `credits`).
 */
import { changedPaths, commitTree, commitTreeOn, protectedChanges } from '@autoresearch/protocol'
import { mergeOwnChange, rebaseCandidate, type RebaseContext, type RebaseOutcome } from './rebase.ts'
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
  const { taken, tree, left } = await mergeInOrder(gitdir, members, best, 'group')
  const stale: RebaseOutcome[] = left.map(({ member, conflicts, before }) => {
    const reason = leftOutReason(best, conflicts, before)
    store.setCandidateState(member.seq, 'stale', reason)
    return { state: 'stale', candidate: member, reason, conflicts: conflicts ?? [] }
  })
  if (taken.length === 0) return { state: 'single', outcome: stale[0] as RebaseOutcome, others: stale.slice(1) }
  if (taken.length === 1) return { state: 'single', outcome: await rebaseCandidate(ctx, taken[0] as CandidateRow, best), others: stale }
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
  return { state: 'grouped', groupSeq: storeGroup(ctx, taken, { commit, tree, parent: best, description }), members: taken.map((m) => m.seq), others: stale }
}

/** Why a member of a merge group went stale, in words its submitter reads (the members before it named only when there are any). */
export function leftOutReason (best: string, conflicts: string[] | null, before: readonly Pick<CandidateRow, 'seq'>[]): string {
  const others = before.map((m) => `#${m.seq}`).join(', ')
  if (conflicts === null) return before.length === 0 ? 'the new best already contains its change' : `the new best, with the candidates grouped before it (${others}), already contains its change`
  const onto = before.length === 0 ? `the new best ${best.slice(0, 10)}` : `the new best ${best.slice(0, 10)} or with the candidates grouped before it (${others})`
  return `its change conflicts with ${onto} in ${conflicts.join(', ') || 'its files'}; start from the new best`
}

/**
 * A member `mergeInOrder` left out: its change conflicts (`conflicts`), or adds nothing (null);
 * `before`, the members taken before it; `failed` when git itself failed on it, which says
 * nothing of the change.
 */
export interface LeftOut { member: CandidateRow, conflicts: string[] | null, before: CandidateRow[], failed?: true }

/**
 * Merges each member's own change (its parent the merge base, as a carry takes it) onto `onto`
 * and the members taken before it, in order: the rule of merge groups and batches (batch.ts).
 * Returns the members taken, the tree they make, and those left out; throws on a full disk (mergeOwnChange).
 */
export async function mergeInOrder (gitdir: string, members: readonly CandidateRow[], onto: string, label: string): Promise<{ taken: CandidateRow[], tree: string, left: LeftOut[] }> {
  const taken: CandidateRow[] = []
  const left: LeftOut[] = []
  let head = onto
  let tree = (await commitTree(gitdir, onto)).tree
  for (const member of members) {
    const merged = await mergeOwnChange(gitdir, member, head)
    if ('failed' in merged) {
      left.push({ member, conflicts: [merged.failed], before: [...taken], failed: true })
      continue
    }
    if ('conflicts' in merged) {
      left.push({ member, conflicts: merged.conflicts, before: [...taken] })
      continue
    }
    // An empty change (the commit or the members before have it already) adds nothing.
    if (merged.tree === tree) {
      left.push({ member, conflicts: null, before: [...taken] })
      continue
    }
    head = await commitTreeOn(gitdir, merged.tree, head, `${label}: #${member.seq}`, 'autoresearch-coordinator')
    tree = merged.tree
    taken.push(member)
  }
  return { taken, tree, left }
}

/** Stores a group commit of `taken` (a merge group or a batch) as a candidate with the coordinator's receipt; returns its seq. */
export function storeGroup (ctx: RebaseContext, taken: CandidateRow[], c: { commit: string, tree: string, parent: string, description: string }): number {
  const first = taken[0] as CandidateRow
  // The queue reads the claim: the group goes where its most promising member would.
  const row = newCandidate(ctx, {
    ...c, submitter: ctx.identity.publicKey, claimedMetric: first.claimed_metric, submission: first.submission, origin: null
  })
  ctx.store.insertGroup(row, taken.map((m) => m.seq))
  return row.seq
}
