/**
 * The model of discovery and of the machines: what an experiment finds, how a worker
 * spends its runs (worker/src/operations), what a verifier's job costs (verifier/src/verifier.ts).
 */
import type { Random } from './clock.ts'

export interface ModelOptions {
  /** Probability that an experiment is a real improvement (about 20 kept of 700 in real autoresearch: 0.03). */
  p: number
  /** Probability that a candidate's change conflicts with the new best when it must be rebased (it is then stale). */
  c: number
  /**
   * What `c` is per: `carry` (the default), each carry onto a new best, however many
   * changes that best merged; `change`, each change merged since the candidate's parent, so
   * a carry over a step that merged k submissions conflicts with probability 1 − (1 − c)^k.
   */
  conflictPer?: 'carry' | 'change'
  /** Mean size of a real improvement, in multiples of the cause's minImprovement (exponential). */
  gainMean: number
  /** Run-to-run noise σ of the metric (the sim-cost cause's NOISE). */
  noise: number
  /** Wall time of one training run, seconds. */
  runSeconds: number
  /**
   * Spread of a verifier run's wall time: each takes runSeconds × (1 + jitter × (u − ½)), u
   * uniform in [0, 1). 0: every run exactly runSeconds, so jobs started together end in the
   * same millisecond and the event queue's insertion order decides which passes first.
   */
  jitter?: number
  minImprovement: number
}

/** Runs a worker spends on a new best before experimenting: measure it, then estimateNoise's NOISE_SEEDS more. */
export const FOLLOW_RUNS = 3

/**
 * The true gain of one experiment's change (positive: the loss goes down). A real
 * improvement with probability p, exponential with mean gainMean × minImprovement (most
 * kept changes are small, a few large: the maximum-entropy law for a positive size with a
 * given mean; about 28 % of real improvements at the default mean 3 are below
 * minImprovement and cannot be accepted). Otherwise a change for the worse, exponential
 * with mean minImprovement.
 */
export function drawGain (m: ModelOptions, random: Random): number {
  return random.next() < m.p ? random.exponential(m.gainMean * m.minImprovement) : -random.exponential(m.minImprovement)
}

/** One measured difference of two runs on one machine (base minus candidate): the true gain plus two runs' noise. */
export const observedGain = (m: ModelOptions, random: Random, gain: number): number =>
  gain + random.gaussian(m.noise) - random.gaussian(m.noise)

/** Probability that a three-way merge over `changes` changes merged since the candidate's parent conflicts (ModelOptions.conflictPer). */
export function conflictChance (c: number, per: 'carry' | 'change', changes: number): number {
  return per === 'carry' ? c : 1 - (1 - c) ** Math.max(1, changes)
}
