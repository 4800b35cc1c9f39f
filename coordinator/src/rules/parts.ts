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
 * How many of the open seeds one verifier takes: an equal share with the other verifiers that
 * will take a part (`others`: `helpersOf`), all of them when there are none.
 */
export function partSize (open: number, others: number): number {
  return Math.ceil(open / (1 + Math.max(0, Math.min(others, open - 1))))
}

/**
 * The other verifiers a round is shared with: those waiting for work now (held lease requests
 * without a job), and for a round's first part, when they are more, those busy with a job, which
 * ask again when it is done (begunFirst gives them the rest). Sharing the first part only with
 * the waiting ones gave a whole round to one machine whenever the others were busy, and that
 * round then took all its pairs one after another while the others, back a moment later, took
 * the next candidate, whose job a merge of the first mostly left behind (docs/benchmarks.md,
 * "A round shared with busy verifiers too"). Later parts go to those waiting only: a verifier
 * that leaves seeds to a busy one it cannot see finishing would wait for it.
 */
export function helpersOf (waiting: number, busy: number, begun: boolean): number {
  return begun ? Math.max(0, waiting) : Math.max(0, waiting, busy)
}

/**
 * The queued candidates in the order a verifier looks at them for a part: those whose round
 * has begun (a part taken or done) first, each group in queue order, so the rest of a round
 * shared with busy verifiers is never left behind a newer candidate.
 */
export function begunFirst<C> (queued: readonly C[], begun: (c: C) => boolean): C[] {
  return [...queued.filter(begun), ...queued.filter((c) => !begun(c))]
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
