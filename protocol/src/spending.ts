/**
 * How a cause spends its false-acceptance rate 1 − confidence over a candidate's rounds
 * (docs/trust.md, "Spending the rate over rounds"). A near-tie or a split gets another
 * round, and each round tests the pairs of every round so far again; testing each at the
 * cause's confidence would let a candidate without the margin pass more often than declared
 * (about twice as often with three rounds). So each round gets its own share, and by the
 * union bound the shares together stay within 1 − confidence whatever the rounds' outcomes
 * have in common: early acceptance (`sequential.accept`, first round only) first, then half
 * of what is left to the first round's whole test, and the other half shared equally by the
 * further rounds. The first round keeps the larger share because most verdicts are made
 * there; the later rounds, which test many more pairs, need less to pass a real near-tie.
 */
import type { Manifest } from './manifest.ts'

/** The first round's share of what early acceptance leaves, when further rounds may follow. */
export const FIRST_ROUND_SHARE = 0.5

/** What `decide` tests round `round` (1-based) of at most `maxRounds` at. */
export function roundConfidence (manifest: Manifest, round: number, maxRounds: number): number {
  const { confidence, sequential } = manifest.verification
  const left = 1 - confidence - (sequential?.accept ?? 0)
  const share = maxRounds <= 1
    ? left
    : round <= 1 ? left * FIRST_ROUND_SHARE : left * (1 - FIRST_ROUND_SHARE) / (maxRounds - 1)
  return confidenceAt(share)
}

/** The confidence a test at false-acceptance rate `rate` has, rounded so that 1 − 0.025 reads 0.975 wherever a verdict prints it. */
export const confidenceAt = (rate: number): number => Number((1 - rate).toPrecision(12))
