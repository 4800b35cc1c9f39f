import type { CandidateRow } from '../store/index.ts'

type Known = Pick<CandidateRow, 'seq' | 'submitter' | 'origin_seq' | 'state' | 'parent_oid'>

/**
 * What intake does with a submission whose tree a candidate already has.
 * - `duplicate`: the tree belongs to another submitter (the first one owns it), or first came as a rebased copy.
 * - `repeat`: the owner sent it again, most likely because our receipt was lost: the receipt it missed is the answer.
 * - `carried`: the owner's candidate with this tree (or the copy the coordinator last carried it as) went
 *   stale on an older best, and the owner sends the tree again on another parent. A worker's later
 *   submission carries its whole local chain, so it often changes a line its own earlier, merged one
 *   changed too: carrying it conflicts, while the worker, replaying its edits one by one, arrives at
 *   the very same tree on the new best. Refused, that worker would never send it again and a network
 *   of one would stop (docs/benchmarks.md, Scaling). It becomes a copy of the first, as a rebase would.
 *
 * `first` is the first candidate with the tree; `current` is where its lineage stands now (the
 * latest copy it was carried or grouped as, or `first` itself).
 */
export function sameTree (first: Known, current: Pick<Known, 'state' | 'parent_oid'>, submitter: string, parent: string): 'duplicate' | 'repeat' | 'carried' {
  if (first.submitter !== submitter || first.origin_seq !== null) return 'duplicate'
  if (current.state === 'stale' && current.parent_oid !== parent) return 'carried'
  return 'repeat'
}
