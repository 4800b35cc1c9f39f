/**
 * When a verifier may stop a job before its last pair (docs/trust.md, "Stopping early").
 * The verifier applies it after each pair; the coordinator applies it again to an
 * attestation that reports fewer pairs than its job's seeds, and refuses one the rule does
 * not allow. Only rejection is ever early: acceptance always reads the whole round.
 */
import { improvement, type Manifest } from './manifest.ts'
import type { Trial } from './messages.ts'

/**
 * Why the pairs measured so far already decide the job (a rejection), or null to go on.
 * A failed pair rejects the candidate whatever follows. With `verification.sequential`
 * declared, so does a mean gain whose optimistic bound — mean + z(1 − futility) · noise / √k
 * after k pairs — is below minImprovement: a candidate whose true gain reaches
 * minImprovement stops that way with probability at most `futility` per look.
 */
export function stopEarly (manifest: Manifest, trials: Array<Pick<Trial, 'baseline' | 'candidate'>>, planned: number): string | null {
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

/**
 * The standard normal's quantile, by P. J. Acklam's rational approximation (relative
 * error below 1.2e-9), which is ample for a stopping bound.
 */
export function normalQuantile (p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`a probability strictly between 0 and 1, not ${p}`)
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239]
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572]
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783]
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416]
  const tail = (q: number): number =>
    (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)))
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)))
  const q = p - 0.5
  const r = q * q
  return (((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
}
