/**
 * When a candidate that passed on the best waits before it merges (docs/coordinator.md,
 * "Merge groups"). Many candidates are verified on one best at once; the first to pass
 * would merge at once and leave every other passer on an old best, a merge group of dozens
 * among them, to be carried (each carry may conflict) and verified again. So a pass waits
 * while a candidate on the same best that carries more submissions is still being verified
 * (under a live lease): if that one passes, it merges first and the waiting passer goes on
 * in the next group; if it fails or its lease runs out, the passer merges then, on the
 * trials it already passed, as a speculative pass does.
 *
 * A wait lasts one lease at most, and less when the larger candidate's job is overdue: a
 * verifier that crashed or went silent would otherwise keep every pass on the best waiting
 * for its whole lease (trials × 2 × the step timeouts), where its job should have taken about
 * as long as the passer's own. So the wait also ends `PATIENCE` times the larger job's pairs and
 * one more after its lease began, at the pace (milliseconds per pair) the passer's own pairs ran.
 */

/** One live lease on a candidate in flight: when it began, when it runs out, how many pairs it holds. */
export interface InFlightJob {
  leasedAt: number
  leaseUntil: number
  pairs: number
}

/** A candidate on the best still being verified: how many submissions its merge would carry, and its live leases. */
export interface InFlight {
  seq: number
  submissions: number
  jobs: InFlightJob[]
}

/**
 * How many times the passer's pace a larger candidate's job may take, counted in its pairs and
 * one more (a run it may start behind, such as a warm-up on its verifier's slot). A passer's
 * baselines are often cached where the group's are not (twice the runs per pair), and the
 * verifiers' runs vary; three keeps the rule for a job that is only slow and ends it for one
 * that is gone. (With its pairs alone, a split round's one-pair part that started behind a
 * warm-up ran past it in the simulation.)
 */
export const PATIENCE = 3

/** When a wait for `f` ends at the latest: when its last live lease runs out, or sooner, when its jobs are overdue at `msPerPair` (unknown: the lease alone). */
export function waitEnds (f: InFlight, msPerPair?: number): number {
  let end = -Infinity
  for (const j of f.jobs) {
    const due = msPerPair === undefined ? Infinity : j.leasedAt + PATIENCE * msPerPair * (j.pairs + 1)
    end = Math.max(end, Math.min(j.leaseUntil, due))
  }
  return end
}

/** The candidates in flight that a passer carrying `submissions`, whose pairs ran at `msPerPair`, waits for at `now` (none: it merges now). */
export function heldBy (submissions: number, inFlight: InFlight[], now: number, msPerPair?: number): InFlight[] {
  return inFlight.filter((f) => f.submissions > submissions && now < waitEnds(f, msPerPair))
}
