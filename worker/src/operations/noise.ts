import type { Manifest } from '@autoresearch/protocol'
import type { WorkerComponents } from '../components.ts'

/** Seeds the worker measures a new best on (beyond its own) to estimate its run-to-run noise. */
export const NOISE_SEEDS = 2

/** Sample standard deviation; null with fewer than two values. */
export function sampleSd (values: number[]): number | null {
  if (values.length < 2) return null
  const mean = values.reduce((a, b) => a + b, 0) / values.length
  return Math.sqrt(values.reduce((a, m) => a + (m - mean) ** 2, 0) / (values.length - 1))
}

/** Run-to-run noise of `commit` on this machine: its metric on the worker's seed (`first`) and NOISE_SEEDS more. */
export async function estimateNoise (components: Pick<WorkerComponents, 'trial' | 'seed'>, manifest: Manifest, commit: string, first: number, options: { signal?: AbortSignal } = {}): Promise<number | null> {
  const metrics = [first]
  for (let i = 0; i < NOISE_SEEDS; i++) {
    const r = await components.trial({ manifest, commit, seed: components.seed + 2 + i }, options)
    if (r.ok) metrics.push(r.metric)
  }
  return sampleSd(metrics)
}
