import { sampleSd, type Manifest } from '@autoresearch/protocol'
import type { WorkerComponents } from '../components.ts'
import type { Position } from '../state.ts'
import { stopped } from '@autoresearch/runner'

/** Seeds the worker measures a new best on (beyond its own) to estimate its run-to-run noise. */
export const NOISE_SEEDS = 2

/**
 * Bests an estimate serves before it is measured again: on the best it was measured on and
 * the next NOISE_MAX_AGE - 1 others (our own submissions merging do not use it up).
 */
export const NOISE_MAX_AGE = 4

export { sampleSd }

/** Run-to-run noise of `commit` on this machine: its metric on the worker's seed (`first`) and NOISE_SEEDS more. */
export async function estimateNoise (components: Pick<WorkerComponents, 'trial' | 'seed'>, manifest: Manifest, commit: string, first: number, options: { signal?: AbortSignal, onRun?: (seed: number) => void } = {}): Promise<number | null> {
  const metrics = [first]
  for (let i = 0; i < NOISE_SEEDS; i++) {
    const seed = components.seed + 2 + i
    options.onRun?.(seed)
    const r = stopped(await components.trial({ manifest, commit, seed }, { signal: options.signal }), options.signal)
    if (r.ok) metrics.push(r.metric)
  }
  return sampleSd(metrics)
}

/** A noise estimate, how many bests it has served since it was measured, and the hardware class it was measured on. */
export type NoiseEstimate = Pick<Position, 'noise' | 'noiseAge' | 'noiseHardware'>

/**
 * The noise estimate to keep on a new best, or undefined to measure it again. σ is a
 * property of the cause's metric on this machine, not of one commit, so one estimate serves
 * several bests; it is measured again when there is none, when the hardware class changed,
 * and after NOISE_MAX_AGE bests (σ can drift as the best improves). A best that is our own
 * submission merged as it is keeps the estimate whatever its age: none of its runs are repeated.
 * What σ guards stays as strict: a local gain must still beat it and the cause's margin, and
 * be confirmed on a second seed, before it is submitted (submission.ts, confirm.ts).
 */
export function reusableNoise (previous: NoiseEstimate | undefined, args: { own: boolean, hardware?: string }): NoiseEstimate | undefined {
  if (previous === undefined || previous.noise === null || previous.noiseHardware !== args.hardware) return undefined
  const age = (previous.noiseAge ?? 0) + 1
  if (!args.own && age >= NOISE_MAX_AGE) return undefined
  return { noise: previous.noise, noiseAge: age, noiseHardware: previous.noiseHardware }
}
