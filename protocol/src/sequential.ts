/**
 * When a verifier may stop a job before its last pair (docs/trust.md, "Stopping early").
 * The verifier applies it after each pair; the coordinator applies it again to an
 * attestation that reports fewer pairs than its job's seeds, and refuses one the rule does
 * not allow. Rejection may be early wherever the cause declares the rule; acceptance only
 * where it also declares `accept` and the coordinator marked the job (`Job.acceptEarly`).
 */
import { improvement, type Manifest } from './manifest.ts'
import type { Trial } from './messages.ts'
import { normalQuantile, sampleSd, studentTCdf } from './distributions.ts'

type Pair = Pick<Trial, 'baseline' | 'candidate'>

/** How a job ended before its last pair, and why; an acceptance carries the look that made it. */
export type EarlyEnd =
  | { verdict: 'rejected', reason: string }
  | { verdict: 'accepted', reason: string, look: AcceptLook }

/** The figures of a look that accepted (`acceptLook`): k pairs, their mean gain, the spread and level it was tested at. */
export interface AcceptLook {
  k: number
  planned: number
  mean: number
  /** The larger of the pairs' own spread and the declared pair noise. */
  sd: number
  t: number
  pValue: number
  /** `accept / (planned − 2)`: the p-value had to fall below it. */
  level: number
}

/** Whether the pairs so far end the job: a rejection (`stopEarly`), else, where the job allows one, an acceptance (`acceptEarly`). */
export function endsEarly (manifest: Manifest, trials: Pair[], planned: number, { accept }: { accept: boolean }): EarlyEnd | null {
  const rejected = stopEarly(manifest, trials, planned)
  if (rejected !== null) return { verdict: 'rejected', reason: rejected }
  const look = accept ? acceptLook(manifest, trials, planned) : null
  return look === null ? null : { verdict: 'accepted', reason: lookReason(manifest, look), look }
}

/**
 * Why the pairs so far already show the gain beyond doubt (an acceptance), or null to go on.
 * At k pairs (2 ≤ k < planned, none failed) the paired one-sided t-test of mean gain >
 * minImprovement must hold at `accept / (planned − 2)` (the looks share what the cause
 * spends on them), with the spread taken as the larger of the pairs' own and the declared
 * pair noise, on k − 1 degrees of freedom: a candidate made noisy on purpose gains nothing.
 * The seed-insensitivity test needs three seeds, so the candidate must also vary across these
 * seeds at least `varianceRatio` times as much as the baseline does; one that does not goes on
 * to its whole round, where that test reads it.
 */
export function acceptEarly (manifest: Manifest, trials: Pair[], planned: number): string | null {
  const look = acceptLook(manifest, trials, planned)
  return look === null ? null : lookReason(manifest, look)
}

/** Pairs a job runs before early acceptance first looks: the one-sided t-test needs two (coordinator's warm seeds stop there too: seeds.ts `warmRound`). */
export const FIRST_ACCEPT_LOOK = 2

/** The look `acceptEarly` describes, with its figures (the verdict's test of a job it ended: coordinator's rules/verdict.ts), or null. */
export function acceptLook (manifest: Manifest, trials: Pair[], planned: number): AcceptLook | null {
  const { sequential: rule, minImprovement, seedInsensitivity } = manifest.verification
  const k = trials.length
  if (rule?.accept === undefined || k < FIRST_ACCEPT_LOOK || k >= planned) return null
  if (trials.some((t) => t.baseline === null || t.candidate === null)) return null
  const complete = trials as Array<{ baseline: number, candidate: number }>
  const gains = complete.map((t) => improvement(manifest, t.baseline, t.candidate))
  const mean = gains.reduce((a, b) => a + b, 0) / k
  const sd = Math.max(sampleSd(gains) as number, rule.noise)
  const t = (mean - minImprovement) / (sd / Math.sqrt(k))
  const level = rule.accept / (planned - FIRST_ACCEPT_LOOK)
  const pValue = 1 - studentTCdf(t, k - 1)
  if (!(pValue < level)) return null
  if (ignoresSeeds(complete, seedInsensitivity.varianceRatio)) return null
  return { k, planned, mean, sd, t, pValue, level }
}

const lookReason = (manifest: Manifest, l: AcceptLook): string =>
  `after ${l.k} of ${l.planned} pairs the mean gain ${l.mean.toPrecision(3)} clears minImprovement ${manifest.verification.minImprovement} beyond doubt (t=${l.t.toPrecision(3)}, spread ${l.sd.toPrecision(3)}, p=${l.pValue.toPrecision(3)} < ${l.level.toPrecision(3)})`

/** Sample variance of two or more values (every caller here has at least two). */
const variance = (xs: number[]): number => (sampleSd(xs) as number) ** 2

/** The candidate's spread across the seeds is below `ratio` times the baseline's (log scale when every metric is positive, as the seed-insensitivity test). */
function ignoresSeeds (trials: Array<{ baseline: number, candidate: number }>, ratio: number): boolean {
  if (ratio <= 0) return false
  const f = trials.every((t) => t.baseline > 0 && t.candidate > 0) ? Math.log : (x: number): number => x
  const baseline = variance(trials.map((t) => f(t.baseline)))
  return baseline > 0 && variance(trials.map((t) => f(t.candidate))) < ratio * baseline
}

/**
 * Why the pairs measured so far already decide the job (a rejection), or null to go on.
 * A failed pair rejects the candidate whatever follows. With `verification.sequential`
 * declared, so does a mean gain whose optimistic bound — mean + z(1 − futility) · noise / √k
 * after k pairs — is below minImprovement: a candidate whose true gain reaches
 * minImprovement stops that way with probability at most `futility` per look.
 */
export function stopEarly (manifest: Manifest, trials: Pair[], planned: number): string | null {
  const k = trials.length
  if (k === 0 || k >= planned) return null
  const failed = trials.filter((t) => t.baseline === null || t.candidate === null).length
  if (failed > 0) return `${failed} of the first ${k} pairs produced no metric, which rejects the candidate whatever the other pairs show`
  const rule = manifest.verification.sequential
  if (rule === undefined) return null
  const gains = trials.map((t) => improvement(manifest, t.baseline as number, t.candidate as number))
  const mean = gains.reduce((a, b) => a + b, 0) / k
  const bound = mean + normalQuantile(1 - rule.futility) * rule.noise / Math.sqrt(k)
  const { minImprovement } = manifest.verification
  if (bound >= minImprovement) return null
  return `after ${k} of ${planned} pairs the mean gain ${mean.toPrecision(3)} is so far below minImprovement ${minImprovement} that even its optimistic bound ${bound.toPrecision(3)} (futility ${rule.futility}, pair noise ${rule.noise}) misses it`
}
