import { improvement, type Manifest } from '@autoresearch/protocol'
import type { Local, WorkerComponents } from '../components.ts'
import { stopped } from '@autoresearch/runner'

/**
 * Confirms a local gain on a second seed (the position's confirmation seed, operations/seeds.ts)
 * before spending anyone's verification time: the base and the candidate both run (the base
 * from the cache when it ran or was verified on that seed), and the candidate must beat the
 * base by the cause's margin. Returns whether it passed, and the candidate's confirming run
 * (its metric null when it crashed).
 */
export type Confirmation = { passed: true, metric: number, logDigest: string } | { passed: false, metric: number | null }

export async function confirm (components: Pick<WorkerComponents, 'trial' | 'emit'>, args: { manifest: Manifest, base: Local, local: Local, seed: number, n: number }, options: { signal?: AbortSignal } = {}): Promise<Confirmation> {
  const { manifest, base, local, seed, n } = args
  components.emit({ type: 'phase', phase: 'confirming', n })
  components.emit({ type: 'measuring', what: 'baseline', commit: base.commit, seed, run: 1, runs: 2, n })
  const baseline = stopped(await components.trial({ manifest, commit: base.commit, seed }, options), options.signal)
  components.emit({ type: 'measuring', what: 'candidate', commit: local.commit, seed, run: 2, runs: 2, n })
  const candidate = stopped(await components.trial({ manifest, commit: local.commit, seed }, options), options.signal)
  const passed = baseline.ok && candidate.ok && improvement(manifest, baseline.metric, candidate.metric) > manifest.verification.minImprovement
  components.emit({ type: 'confirm', commit: local.commit, baseline: baseline.ok ? baseline.metric : null, candidate: candidate.ok ? candidate.metric : null, passed })
  return passed && candidate.ok ? { passed, metric: candidate.metric, logDigest: candidate.logDigest } : { passed: false, metric: candidate.ok ? candidate.metric : null }
}
