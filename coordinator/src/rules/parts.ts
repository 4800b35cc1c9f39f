/**
 * Split rounds: the pairs of one verification round spread over several verifiers, so a
 * round takes about one pair's time when verifiers are idle, instead of all its pairs one
 * after another on one machine. Each pair (baseline and candidate on one seed) is still
 * measured on one machine, in one job. Only where the cause asks for it
 * (`verification.splitRounds`: its verifiers' machines measure alike, so a seed's spread is
 * not confused with a machine's) and where each seed is measured once anyway — quorum 1 with
 * an allowlist: every listed key counts, and there is no shadow job or spot check whose
 * verifier must measure the same seeds as another.
 */
import type { Tally } from './quorum.ts'

/** What the rules read of a job of the round (a JobRow has it). */
export interface PartJob {
  id: number
  seeds: number[]
  state: 'leased' | 'done' | 'expired'
}

export function splittable (mode: 'allowlist' | 'open', verification: { quorum: number, splitRounds: boolean }): boolean {
  return verification.splitRounds && mode === 'allowlist' && verification.quorum === 1
}

/** The round's seeds no live or finished job has taken yet, in the round's order. */
export function openSeeds (roundSeeds: number[], jobs: PartJob[]): number[] {
  const taken = new Set(jobs.filter((j) => j.state !== 'expired').flatMap((j) => j.seeds))
  return roundSeeds.filter((s) => !taken.has(s))
}

/**
 * How many of the open seeds one verifier takes: an equal share with the verifiers waiting
 * for work (held lease requests), all of them when none waits.
 */
export function partSize (open: number, waiting: number): number {
  return Math.ceil(open / (1 + Math.max(0, Math.min(waiting, open - 1))))
}

/**
 * Where a split round stands after an attestation: complete when every seed of the round is
 * in an attested job, or when the declared sequential rule already rejects on the pairs
 * attested so far (`stopped`).
 */
export function partsTally (roundSeeds: number[], jobs: PartJob[], round: number, stopped: boolean): Tally {
  const done = new Set(jobs.filter((j) => j.state === 'done').flatMap((j) => j.seeds))
  const measured = roundSeeds.filter((s) => done.has(s)).length
  if (measured === roundSeeds.length || stopped) return { complete: true }
  return { complete: false, leased: jobs.some((j) => j.state === 'leased'), reason: `${measured} of ${roundSeeds.length} pairs of round ${round} attested` }
}
