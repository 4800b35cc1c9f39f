import type { PairedTest } from '../stats.ts'

/** What the extra-round rule reads of a round that reached its quorum. */
export interface RoundEvidence {
  /** Trials in which a side produced no metric. */
  failed: number
  /** Rounds asked for so far, and the most a candidate may get (policy.ts MAX_ROUNDS). */
  rounds: number
  maxRounds: number
  /** The seed-insensitivity rule flagged the candidate: more seeds would not clear it. */
  seedInsensitive: boolean
  /** Two verifiers whose gains disagree, with no third to tell which one is off. */
  twoWaySplit: boolean
  test: PairedTest
  minImprovement: number
}

/**
 * Why the candidate gets one more round on fresh seeds (by any verifier), or null when the
 * round decides it: two verifiers that disagree, or a near-tie (a mean gain above
 * minImprovement that the test cannot yet tell from noise). Never after a failed trial,
 * on the last round, or for a candidate that ignores the seed.
 */
export function extraRound (e: RoundEvidence): string | null {
  if (e.failed > 0 || e.rounds >= e.maxRounds || e.seedInsensitive) return null
  if (e.twoWaySplit) return 'verifiers disagree'
  if (!e.test.passed && e.test.mean > e.minImprovement) return `near-tie (p=${e.test.pValue.toPrecision(3)})`
  return null
}
