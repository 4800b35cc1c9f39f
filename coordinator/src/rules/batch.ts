/**
 * Batches (docs/trust.md, "Batches"): with `verification.batch` declared, queued candidates on
 * the best that were never verified are combined into one group commit and verified once,
 * instead of one job each (coordinator/src/batch.ts builds it). A batch that fails is split in
 * halves, as a merge group of passers is (rules/groups.ts).
 */
import { halfOf } from './groups.ts'

/** A queued candidate on the best, as the batching reads it (queue order). */
export interface Batchable {
  seq: number
  submitter: string
  /** It has had a job: it is being verified on its own already (a split round's part, a lease that ran out). */
  started: boolean
  /** It is itself a merge group or a rebase of one: groups never nest. */
  group: boolean
  /** Its submitter has a verified merge: a key that has not is verified alone first, so a fresh key cannot ride on others' gains. */
  trusted: boolean
  /** The latest batch it was in, which failed: its members, in their queue order. */
  failedGroup?: { seq: number, members: number[] }
}

/**
 * The members of the batch this verifier should get, in queue order, or none (fewer than
 * two): the candidate it would otherwise lease (the first not its own) and those after it
 * that may join, never the verifier's own. A candidate from a failed batch joins only the
 * rest of its half; fresh ones join only fresh ones. A candidate that is started, a group,
 * or from a key without a verified merge goes alone, as without batches. Reads `queued` only
 * as far as it must (the head, then until `size` are picked): the loader builds each lazily.
 */
export function pickBatch (queued: Iterable<Batchable>, verifier: string, size: number): number[] {
  let joins: ((c: Batchable) => boolean) | undefined
  const picked: number[] = []
  for (const c of queued) {
    if (c.submitter === verifier) continue
    if (joins === undefined) {
      if (c.started || c.group || !c.trusted) return []
      joins = joinerOf(c)
    }
    if (joins(c)) picked.push(c.seq)
    if (picked.length === size) break
  }
  return picked.length >= 2 ? picked : []
}

/** Who may join a batch led by `head` (head included). */
function joinerOf (head: Batchable): (c: Batchable) => boolean {
  const failed = head.failedGroup
  if (failed === undefined) return (c) => c.failedGroup === undefined && !c.started && !c.group && c.trusted
  return (c) => c.failedGroup?.seq === failed.seq && halfOf(failed.members, c.seq) === halfOf(failed.members, head.seq) && !c.started
}
