import { fCdf, pooledVariance } from '../stats.ts'

/** One paired trial with both metrics measured. */
export interface SpreadTrial {
  seed: number
  verifier: string
  baseline: number
  candidate: number
}

/** The cause's setting (manifest `verification.seedInsensitivity`). */
export interface SpreadThreshold {
  /** A candidate whose variance across seeds is below this fraction of the baseline's ignores the seed. */
  varianceRatio: number
  /** Significance at which the one-sided F test must show it. */
  significance: number
}

export interface SeedSpread {
  seeds: number
  /** Degrees of freedom of each pooled variance. */
  dof: number
  baselineVariance: number
  candidateVariance: number
  /** `log`: spreads of log(metric), used when every metric is positive; else `linear`. */
  scale: 'log' | 'linear'
  /** Candidate variance over baseline variance; null when the baseline does not vary. */
  ratio: number | null
  /** One-sided p-value of "the candidate varies at least `varianceRatio` times as much as the baseline". */
  pValue: number
  insensitive: boolean
}

/**
 * Whether a candidate ignores the trial seed. A train.py that uses a fixed "lucky" seed
 * (plus, perhaps, a tiny seed-dependent nudge so no two runs are equal) barely varies
 * across seeds while the baseline, trained with each seed, varies as training does.
 * Spreads are compared on a log scale when every metric is positive: a loss that falls
 * towards its floor varies less in absolute terms (an honest toy-regression edit from
 * 0.087 to 0.015 has 0.2 % of the baseline's variance, but 8 % to 27 % on a log scale).
 * Baseline and candidate run with the same seeds, so the two spreads are compared with
 * a one-sided F test of candidate/baseline variance against `varianceRatio`; positive
 * correlation between the pairs only makes the test more cautious. Fewer than three
 * distinct seeds, or a baseline that does not vary, never flag.
 */
export function seedSpread (trials: SpreadTrial[], threshold: SpreadThreshold, opts: { acrossMachines?: boolean } = {}): SeedSpread {
  const within = spread(trials, threshold, 'within')
  if (opts.acrossMachines !== true || within.insensitive) return within
  // A split round has few seeds per machine (one, often): pooled within each, the test has
  // no degrees of freedom left. Pooled across machines a constant between them adds to both
  // spreads alike, so an honest candidate looks no less seed-dependent; either test flags.
  const across = spread(trials, threshold, 'across')
  return across.insensitive || across.pValue < within.pValue ? across : within
}

function spread (trials: SpreadTrial[], threshold: SpreadThreshold, pooling: 'within' | 'across'): SeedSpread {
  const seeds = new Set(trials.map((t) => t.seed)).size
  const verifiers = pooling === 'within' ? [...new Set(trials.map((t) => t.verifier))] : [undefined]
  const scale = trials.every((t) => t.baseline > 0 && t.candidate > 0) ? 'log' : 'linear'
  const f = scale === 'log' ? Math.log : (x: number): number => x
  // Pooled within each verifier: two machines may differ by a constant, which is not seed spread.
  const by = (pick: (t: SpreadTrial) => number): number[][] => verifiers.map((v) => trials.filter((t) => v === undefined || t.verifier === v).map((t) => f(pick(t))))
  const baseline = pooledVariance(by((t) => t.baseline))
  const candidate = pooledVariance(by((t) => t.candidate))
  const dof = baseline.dof
  const ratio = baseline.variance > 0 ? candidate.variance / baseline.variance : null
  const pValue = ratio === null || threshold.varianceRatio <= 0 || dof < 1 ? 1 : fCdf(ratio / threshold.varianceRatio, dof, dof)
  const insensitive = seeds >= 3 && ratio !== null && pValue < threshold.significance
  return { seeds, dof, scale, baselineVariance: baseline.variance, candidateVariance: candidate.variance, ratio, pValue, insensitive }
}
