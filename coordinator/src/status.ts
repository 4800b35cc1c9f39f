import { metricSource, type Manifest } from '@autoresearch/protocol'
import type { Coordinator } from './coordinator.ts'
import { wireBest } from './handlers/info.ts'
import type { MergeRow, Store } from './store/index.ts'

export interface CauseStatus {
  cause: string
  causeId: string
  metric: Manifest['metric']
  /** `evaluator` (the frozen evaluate step measures it) or `stdout` (self-reported by train, re-run only). */
  metricSource: 'evaluator' | 'stdout'
  multiaddrs: string[]
  /** Peers connected over libp2p right now (workers, verifiers, watchers). */
  peers: number
  best: { commit: string, metric: number | null, seq: number }
  baselineMetric: number | null
  merges: number
  candidates: Record<string, number>
  verification: Manifest['verification']
}

export type StatusDeps = Pick<Coordinator, 'causeId' | 'manifest' | 'node'> & { store: Pick<Store, 'merges' | 'standingMerges' | 'countsByState'> }

/** The cause at a glance: the best, the merges, candidates by state, the peers connected now. */
export function causeStatus (c: StatusDeps): CauseStatus {
  const merges = c.store.merges()
  return {
    cause: c.manifest.name,
    causeId: c.causeId,
    metric: c.manifest.metric,
    metricSource: metricSource(c.manifest),
    multiaddrs: c.node?.getMultiaddrs().map(String) ?? [],
    peers: new Set(c.node?.getConnections().map((conn) => conn.remotePeer.toString()) ?? []).size,
    best: wireBest(merges[merges.length - 1] as MergeRow),
    baselineMetric: merges.find((m) => m.kind === 'merge')?.baseline_metric ?? null,
    merges: c.store.standingMerges().length,
    candidates: { queued: 0, verifying: 0, merged: 0, rejected: 0, stale: 0, rebased: 0, reverted: 0, ...c.store.countsByState() },
    verification: c.manifest.verification
  }
}
