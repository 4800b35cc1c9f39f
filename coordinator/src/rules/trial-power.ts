import { chiSquareQuantile, pairedTestPower } from '../stats.ts'

/** Trial counts `check` always shows (the manifest's and the suggested count are added). */
export const TRADE_OFF_TRIALS = [2, 3, 5, 8]

/** Two-sided coverage of the range given for σ. */
export const SD_COVERAGE = 0.9

export interface TradeOffInput {
  /** σ of one run's metric over seeds. */
  sd: number
  /** How many runs σ was measured from. */
  runs: number
  /** Seconds of one run (train + evaluate), prepare excluded. */
  runSeconds: number
  minImprovement: number
  confidence: number
  /** Counts to show besides TRADE_OFF_TRIALS (the manifest's, the suggested one). */
  extraTrials?: number[]
}

export interface TradeOffRow {
  trials: number
  /** One verification: trials × 2 runs (candidate and baseline) × one run. */
  seconds: number
  /** Chance that a candidate truly gaining `gain` passes, at the measured σ. */
  power: number
  /** The same at the ends of σ's range: [at the high σ, at the low σ]. */
  powerRange: [number, number]
  /** The true gain that passes 80 % of the time at the measured σ. */
  gainFor80: number
}

export interface TradeOff {
  sd: number
  /** σ's `coverage` interval from `runs` runs (chi-square), or null from fewer than two. */
  sdRange: [number, number] | null
  coverage: number
  /** The true gain the power column is for: the margin plus minImprovement again (σ when the margin is 0). */
  gain: number
  rows: TradeOffRow[]
  rule: string
}

const RULE = 'power: the chance that the verifier\'s one-sided paired t-test passes a candidate whose true gain is the margin plus minImprovement again, a paired difference taken to vary like two independent runs (√2 σ); σ\'s range is its 90 % interval from the runs measured'

/**
 * What each trial count buys: the verifier's power against a gain worth having, and the
 * time one verification costs. σ measured from a few runs is itself uncertain (from 3 runs
 * its 90 % interval spans a factor of eight), so the power is also given at both ends of
 * σ's range. A deterministic cause (σ = 0) passes any gain above the margin with two pairs.
 */
export function trialTradeOff (input: TradeOffInput): TradeOff {
  const { sd, runs, minImprovement: margin, confidence } = input
  const excess = margin > 0 ? margin : sd
  const gain = margin + excess
  const df = runs - 1
  const sdRange: [number, number] | null = runs < 2
    ? null
    : [sd * Math.sqrt(df / chiSquareQuantile(1 - (1 - SD_COVERAGE) / 2, df)), sd * Math.sqrt(df / chiSquareQuantile((1 - SD_COVERAGE) / 2, df))]
  const power = (trials: number, sigma: number): number => sigma === 0 ? (gain > margin ? 1 : 0) : pairedTestPower(trials, (gain - margin) / (Math.SQRT2 * sigma), confidence)
  const counts = [...new Set([...TRADE_OFF_TRIALS, ...(input.extraTrials ?? [])])].filter((n) => n >= 2 && n <= 32).sort((a, b) => a - b)
  const rows = counts.map((trials): TradeOffRow => ({
    trials,
    seconds: trials * 2 * input.runSeconds,
    power: power(trials, sd),
    powerRange: sdRange === null ? [power(trials, sd), power(trials, sd)] : [power(trials, sdRange[1]), power(trials, sdRange[0])],
    gainFor80: sd === 0 ? margin : margin + shiftFor(0.8, trials, confidence) * Math.SQRT2 * sd
  }))
  return { sd, sdRange, coverage: SD_COVERAGE, gain, rows, rule: RULE }
}

/** The shift (in σ of one paired difference) at which the test with `trials` pairs has `power` (bisection). */
function shiftFor (power: number, trials: number, confidence: number): number {
  let lo = 0
  let hi = 100
  for (let i = 0; i < 50; i++) {
    const mid = (lo + hi) / 2
    if (pairedTestPower(trials, mid, confidence) < power) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}
