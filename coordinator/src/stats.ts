import { fCdf, logGamma, studentTCdf, tQuantile } from '@autoresearch/protocol'

export { fCdf, studentTCdf, tQuantile }

/** One-sided paired test on improvements: is the mean improvement larger than `margin`? */
export interface PairedTest {
  n: number
  mean: number
  sd: number
  margin: number
  t: number | null
  pValue: number
  confidence: number
  passed: boolean
}

export function pairedOneSidedTest (improvements: number[], margin: number, confidence: number): PairedTest {
  const n = improvements.length
  if (n === 0) return { n, mean: 0, sd: 0, margin, t: null, pValue: 1, confidence, passed: false }
  const mean = improvements.reduce((a, b) => a + b, 0) / n
  const spread = n > 1 ? Math.sqrt(improvements.reduce((a, d) => a + (d - mean) ** 2, 0) / (n - 1)) : 0
  // Equal gains can leave a spread of a few ulps (their mean is rounded): that is no spread,
  // or a deterministic gain exactly at the margin would pass on rounding alone.
  const sd = spread <= 1e-12 * Math.abs(mean) ? 0 : spread
  if (n < 2 || sd === 0) {
    // No spread to test against (one trial, or a fully deterministic cause): only
    // an improvement beyond the margin on every trial counts.
    const passed = n >= 2 && improvements.every((d) => d > margin)
    return { n, mean, sd, margin, t: null, pValue: passed ? 0 : 1, confidence, passed }
  }
  const t = (mean - margin) / (sd / Math.sqrt(n))
  const pValue = 1 - studentTCdf(t, n - 1)
  return { n, mean, sd, margin, t, pValue, confidence, passed: pValue < 1 - confidence }
}

export const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length

/**
 * Variance around each group's own mean, pooled over the groups, with its degrees of
 * freedom (a group of one adds none). Comparing verifiers, or spreads across seeds, by
 * this rather than the spread of everything together keeps a constant offset between
 * groups (two machines, or a liar's scattered numbers) out of it.
 */
export function pooledVariance (groups: number[][]): { variance: number, dof: number } {
  let squares = 0
  let dof = 0
  for (const xs of groups) {
    if (xs.length < 2) continue
    const m = mean(xs)
    squares += xs.reduce((a, x) => a + (x - m) ** 2, 0)
    dof += xs.length - 1
  }
  return { variance: dof > 0 ? squares / dof : 0, dof }
}





/** CDF of the standard normal distribution (erfc by Chebyshev fit, relative error < 1.2e-7). */
export function normalCdf (x: number): number {
  const z = Math.abs(x) / Math.SQRT2
  const t = 1 / (1 + 0.5 * z)
  const erfc = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
  return x >= 0 ? 1 - erfc / 2 : erfc / 2
}

/** CDF of the chi-square distribution with `df` degrees of freedom (the regularized lower incomplete gamma function). */
export function chiSquareCdf (x: number, df: number): number {
  if (x <= 0) return 0
  const a = df / 2
  const h = x / 2
  const front = Math.exp(-h + a * Math.log(h) - logGamma(a))
  if (h < a + 1) {
    // Series.
    let term = 1 / a
    let sum = term
    for (let n = 1; n < 500 && Math.abs(term) > Math.abs(sum) * 1e-15; n++) {
      term *= h / (a + n)
      sum += term
    }
    return Math.min(1, front * sum)
  }
  // Continued fraction for the upper tail (Lentz).
  const tiny = 1e-300
  let b = h + 1 - a
  let c = 1 / tiny
  let d = 1 / b
  let f = d
  for (let i = 1; i < 500; i++) {
    const an = -i * (i - a)
    b += 2
    d = an * d + b; if (Math.abs(d) < tiny) d = tiny
    c = b + an / c; if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    const delta = d * c
    f *= delta
    if (Math.abs(delta - 1) < 1e-15) break
  }
  return Math.max(0, 1 - front * f)
}

/** The `p` quantile of the chi-square distribution with `df` degrees of freedom (bisection). */
export function chiSquareQuantile (p: number, df: number): number {
  let lo = 0
  let hi = df + 20 * Math.sqrt(2 * df) + 20
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2
    if (chiSquareCdf(mid, df) < p) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}

/** t quantiles by confidence and df: a power search asks for the same few many times. */
const criticalValues = new Map<string, number>()

/**
 * Power of the one-sided t-test on `n` paired differences at `confidence`, when the true
 * mean exceeds the margin by `shift` standard deviations of one difference: the chance
 * that the noncentral t (df n − 1, noncentrality shift·√n) clears the critical value.
 * Integrated over the chi distribution of the sample spread (Simpson's rule); exact
 * to about 1e-6, which is more than the σ it is fed deserves.
 */
export function pairedTestPower (n: number, shift: number, confidence: number): number {
  if (n < 2) return 0
  const df = n - 1
  const key = `${confidence}/${df}`
  const critical = criticalValues.get(key) ?? tQuantile(confidence, df)
  criticalValues.set(key, critical)
  const ncp = shift * Math.sqrt(n)
  // Density of W = √(χ²_df): w^(df−1) e^(−w²/2) / (2^(df/2 − 1) Γ(df/2)).
  const logNorm = (df / 2 - 1) * Math.LN2 + logGamma(df / 2)
  const density = (w: number): number => w <= 0 ? (df === 1 ? Math.exp(-logNorm) : 0) : Math.exp((df - 1) * Math.log(w) - w * w / 2 - logNorm)
  const integrand = (w: number): number => density(w) * (1 - normalCdf(critical * w / Math.sqrt(df) - ncp))
  const top = Math.sqrt(df) + 12
  const steps = 1000
  const step = top / steps
  let sum = integrand(0) + integrand(top)
  for (let i = 1; i < steps; i++) sum += (i % 2 === 1 ? 4 : 2) * integrand(i * step)
  return Math.min(1, Math.max(0, sum * step / 3))
}
