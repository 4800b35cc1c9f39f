/**
 * Merge groups: candidates that passed against a best that has moved are carried onto the
 * new best together, as one group commit verified once, instead of one after another
 * (coordinator/src/group.ts builds and stores them). A group that fails is split in halves.
 */

/** A candidate that passed against an old best, as the grouping reads it. */
export interface Passer {
  seq: number
  parent_oid: string
  /** Carried on alone: it is itself a merge group (or a rebase of one; groups never nest), or its parent is the best again after a revert. */
  alone: boolean
  /** The latest group it was a member of that failed: its members, in their queue order. */
  failedGroup?: { seq: number, members: number[] }
}

export interface Grouping {
  /** Carried onto the best now: each entry one group commit (one member: a plain rebase when it merges cleanly; one that conflicts goes stale, as a group's member does), members in the order given. */
  groups: number[][]
  /** Passers that wait: a candidate on the same parent is still being verified and may join them. */
  waiting: number[]
}

/** Which half of a failed group a member goes on in: 0, the first half (rounded up), or 1, the rest. */
export const halfOf = (members: readonly number[], seq: number): 0 | 1 => members.indexOf(seq) < Math.ceil(members.length / 2) ? 0 : 1

/**
 * Groups passers (in queue order). A passer whose parent still has a candidate under
 * verification (`verifying`: parents with a live lease) waits for it, so both can go in
 * one group; a lease always ends, so the wait does. A group that failed is bisected: its
 * members go on in two halves, each half its own group (a half of one is a plain rebase).
 * Passers from no failed group form one group together.
 */
export function formGroups (passers: Passer[], verifying: ReadonlySet<string>): Grouping {
  const waiting: number[] = []
  const groups = new Map<string, number[]>()
  const add = (key: string, seq: number): void => { groups.set(key, [...(groups.get(key) ?? []), seq]) }
  for (const p of passers) {
    if (p.failedGroup !== undefined) {
      add(`split ${p.failedGroup.seq} ${halfOf(p.failedGroup.members, p.seq)}`, p.seq)
    } else if (p.alone) add(`alone ${p.seq}`, p.seq)
    else if (verifying.has(p.parent_oid)) waiting.push(p.seq)
    else add('fresh', p.seq)
  }
  return { groups: [...groups.values()], waiting }
}
