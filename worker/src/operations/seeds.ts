import type { BestRun } from '@autoresearch/protocol'
import { sampleSd } from './noise.ts'

/** The seeds the loop runs on one best: experiments (and carried local bests) on one, confirmations on the other. */
export interface Seeds { experiment: number, confirm: number }

/** The worker's own seeds: its seed for experiments, the next for confirmations. */
export const ownSeeds = (seed: number): Seeds => ({ experiment: seed, confirm: seed + 1 })

/** How the loop stands on a new best before running anything: its seeds, and the best's runs it need not make. */
export interface SeedPlan {
  seeds: Seeds
  /** Verified runs of the best on this machine's hardware class, taken as the worker's own. */
  verified: BestRun[]
  /** Their spread over seeds (what estimateNoise measures), when there are enough of them. */
  noise: number | null
}

/** Verified runs the noise is taken from, as estimateNoise measures it: the worker's seed and NOISE_SEEDS more. */
export const NOISE_FROM_RUNS = 3

/**
 * The seeds to follow a best on. A best that verifiers measured on this machine's hardware
 * class (`bestRuns` of `info`) is already measured: the loop runs its experiments and
 * confirmations on the verified seeds, and the best's runs on them are the verifiers'.
 * A paired comparison then pairs a run here with one on another machine of the same class,
 * which is what a class promises; a worker misled by it spends only its own confirmation,
 * since its claim is verified again anyway. Other hardware, or no verified runs: own seeds.
 */
export function planSeeds (seed: number, runs: BestRun[] | undefined, hardware: string | undefined): SeedPlan {
  const verified = hardware === undefined ? [] : (runs ?? []).filter((r) => r.hardware === hardware)
  const first = verified[0]
  if (first === undefined) return { seeds: ownSeeds(seed), verified: [], noise: null }
  const second = verified.find((r) => r.seed !== first.seed)
  // With one verified seed the confirmation runs on a seed of the worker's own, other than it.
  const confirm = second?.seed ?? (seed + 1 === first.seed ? seed + 2 : seed + 1)
  const metrics = [...new Map(verified.map((r) => [r.seed, r.metric])).values()]
  return { seeds: { experiment: first.seed, confirm }, verified, noise: metrics.length >= NOISE_FROM_RUNS ? sampleSd(metrics) : null }
}
