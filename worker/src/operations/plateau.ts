/**
 * A plateau on one best: after `plateau` experiments in a row without a keep the agent is asked
 * for bolder changes, for `plateau` experiments, then for ordinary ones again for as many, in
 * turns, until a keep or a new best. Bold for good stalled a worker near the optimum, where only
 * small steps still gain: alone on a cause nothing else moves the best, and it never kept again
 * (the scaling bench with `--knobs`, one worker: 420 s without reaching the target).
 */
export function boldNow (sinceKeep: number, plateau: number): boolean {
  return Math.floor(sinceKeep / plateau) % 2 === 1
}

/** Whether a bold stretch starts at this experiment: the worker says so then. */
export function boldStarts (sinceKeep: number, plateau: number): boolean {
  return sinceKeep % (2 * plateau) === plateau
}
