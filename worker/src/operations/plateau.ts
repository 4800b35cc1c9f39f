/**
 * A plateau: after `plateau` experiments in a row without a keep the agent is asked for bolder
 * changes, for `plateau` experiments, then for ordinary ones again for as many, in turns, until
 * a keep. Bold for good stalled a worker near the optimum, where only small steps still gain:
 * alone on a cause nothing else moves the best, and it never kept again (the scaling bench with
 * `--knobs`, one worker: 420 s without reaching the target). A best another worker's candidate
 * made does not start the count again: among many workers the best moves every few experiments
 * of each, and a count per best kept them all from ever turning bold, where one worker alone
 * takes up to half its steps bold (`npm run bench -- ceiling --inert 33`, docs/benchmarks.md).
 */
export function boldNow (sinceKeep: number, plateau: number): boolean {
  return Math.floor(sinceKeep / plateau) % 2 === 1
}

/** Whether a bold stretch starts at this experiment: the worker says so then. */
export function boldStarts (sinceKeep: number, plateau: number): boolean {
  return sinceKeep % (2 * plateau) === plateau
}
