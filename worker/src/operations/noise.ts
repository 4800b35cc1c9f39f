import { improvement, sampleSd, type Manifest } from '@autoresearch/protocol'
import type { Local, WorkerComponents } from '../components.ts'
import type { Position } from '../state.ts'
import { stopped } from '@autoresearch/runner'
import { beyondDoubtHere } from './submission.ts'

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

/** The σ to judge a gain from `from` to `to` by: measured first when it is due and the decision hangs on it (`noiseNeeded`). */
export type NoiseFor = (from: number, to: number) => Promise<number | null>

/**
 * Whether the gain from `from` to `to` needs this machine's noise σ before it is judged, with
 * the σ not measured on this best yet (`noiseDue`, follow.ts): a gain that is none needs no σ
 * to be discarded, and one beyond doubt at the cause's declared spread (submission.ts
 * `beyondDoubtHere`) is kept, and sent, whatever this machine's σ. Any other does: a keep must
 * beat σ (experiment.ts `judge`), a submission too (`beatsHere`). So the NOISE_SEEDS runs are
 * spent on a best only when a gain within reach of the noise shows up on it; the decisions are
 * those a σ measured on arrival gives, but for a gain beyond doubt on a machine noisier than
 * the cause declares, which verification judges as it judges any claim.
 */
export function noiseNeeded (manifest: Pick<Manifest, 'metric' | 'verification'>, at: Pick<Position, 'noiseDue'>, from: number, to: number): boolean {
  return at.noiseDue === true && improvement(manifest, from, to) > 0 && !beyondDoubtHere(manifest, from, to, null)
}

/**
 * Measures this machine's σ on the best now that a gain needs it (`noiseNeeded`): the best's
 * run on the experiment seed and NOISE_SEEDS more (estimateNoise), each announced. Returns the
 * position's new estimate, no longer due and fresh on this best.
 */
export async function measureNoise (components: Pick<WorkerComponents, 'trial' | 'seed' | 'emit' | 'hardware'>, args: { manifest: Manifest, base: Local, n: number }, options: { signal?: AbortSignal } = {}): Promise<Required<Pick<Position, 'noise' | 'noiseAge' | 'noiseDue'>> & Pick<Position, 'noiseHardware'>> {
  const { manifest, base, n } = args
  let run = 0
  const onRun = (seed: number): void => { components.emit({ type: 'measuring', what: 'noise', commit: base.commit, seed, run: ++run, runs: NOISE_SEEDS, n }) }
  const noise = await estimateNoise(components, manifest, base.commit, base.metric, { signal: options.signal, onRun })
  components.emit({ type: 'noise', commit: base.commit, noise })
  const hardware = components.hardware?.class
  return { noise, noiseAge: 0, noiseDue: false, ...(hardware === undefined ? {} : { noiseHardware: hardware }) }
}
