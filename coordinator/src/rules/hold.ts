/**
 * When a candidate that passed on the best waits before it merges (docs/coordinator.md,
 * "Merge groups"). Many candidates are verified on one best at once; the first to pass
 * would merge at once and leave every other passer on an old best, a merge group of dozens
 * among them, to be carried (each carry may conflict) and verified again. So a pass waits
 * while a candidate on the same best that carries more submissions is still being verified
 * (under a live lease): if that one passes, it merges first and the waiting passer goes on
 * in the next group; if it fails or its lease runs out, the passer merges then, on the
 * trials it already passed, as a speculative pass does. A wait lasts one lease at most.
 */

/** A candidate on the best still being verified: how many submissions its merge would carry, and when its lease runs out. */
export interface InFlight {
  seq: number
  submissions: number
  leaseUntil: number
}

/** The candidates in flight that a passer carrying `submissions` waits for (none: it merges now). */
export function heldBy (submissions: number, inFlight: InFlight[]): InFlight[] {
  return inFlight.filter((f) => f.submissions > submissions)
}
