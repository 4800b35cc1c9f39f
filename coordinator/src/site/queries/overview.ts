import { improvement } from '@autoresearch/protocol'
import type { CauseStatus } from '../../coordinator.ts'
import type { CandidateState } from '../../store/index.ts'
import type { CandidateSummary } from './candidates.ts'
import type { SiteDeps } from './deps.ts'
import type { TriedView } from './experiments.ts'
import type { DigestView } from './hypotheses.ts'
import type { MergeView } from './merges.ts'
import type { NetworkView } from './network.ts'

export interface ChartView {
  points: Array<{ seq: number, time: number, metric: number, state: CandidateState }>
  best: Array<{ time: number, metric: number, commit: string }>
}

export interface OverviewView {
  status: CauseStatus
  description: string | null
  selfReported: boolean
  /** The manifest's `requires.gpu`: whether a volunteer needs a GPU, which the call to join says. */
  requiresGpu: boolean
  /** The path of the cause's program.md (the agents' instructions), read at `/files/<best>/<program>`. */
  program: string
  /** Total verified gain of the standing merges over the first measured baseline. */
  totalGain: number | null
  recentMerges: MergeView[]
  chart: ChartView
  network: NetworkView
  /** What workers reported trying on the current best (self-reported, unverified). */
  tried: TriedView
  /** The latest digest of findings a reporter wrote (self-reported), or null. */
  digest: DigestView | null
  join: string
}

/** Every verified candidate as a point, and the best as a step line over time. */
export function chart (candidates: CandidateSummary[], merges: MergeView[], initial: number | null): ChartView {
  const points = candidates.flatMap((c) => c.verifiedMetric === null ? [] : [{ seq: c.seq, time: c.verifiedAt ?? c.receivedAt, metric: c.verifiedMetric, state: c.state }])
  const known = new Map<string, number>()
  const best = merges.flatMap((m) => {
    // A revert row names a commit that was the best before; the initial one has the first baseline measurement.
    const metric = m.kind === 'initial' ? initial : m.metric ?? known.get(m.commit) ?? null
    if (metric === null) return []
    known.set(m.commit, metric)
    return [{ time: m.mergedAt, metric, commit: m.commit }]
  })
  return { points, best }
}

/** The front page: the best so far, the latest merges, the chart and who takes part. */
export function overview (deps: Pick<SiteDeps, 'manifest' | 'status'>, parts: { merges: MergeView[], chart: ChartView, network: NetworkView, tried: TriedView, digest: DigestView | null, join: string }): OverviewView {
  const status = deps.status()
  const bestMetric = status.best.metric
  return {
    status,
    description: deps.manifest.description ?? null,
    selfReported: deps.manifest.evaluate === undefined,
    requiresGpu: deps.manifest.requires.gpu,
    program: deps.manifest.program,
    totalGain: status.baselineMetric !== null && bestMetric !== null ? improvement(deps.manifest, status.baselineMetric, bestMetric) : null,
    recentMerges: parts.merges.filter((m) => m.kind === 'merge').reverse().slice(0, 10),
    chart: parts.chart,
    network: parts.network,
    tried: parts.tried,
    digest: parts.digest,
    join: parts.join
  }
}
