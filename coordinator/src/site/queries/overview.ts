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
  /** The latest CHART_POINTS verified candidates, and every merged one up to as many again, by seq. */
  points: Array<{ seq: number, time: number, metric: number, state: CandidateState }>
  /** Verified candidates in all, shown or not. */
  pointsTotal: number
  best: Array<{ time: number, metric: number, commit: string }>
}

/**
 * Verified candidates the chart plots at most beside the merged ones (and merged ones at most
 * besides): a long cause has verified 100,000, which as points made the front page megabytes
 * of SVG (docs/benchmarks.md, "The site's first look and the candidates export").
 */
export const CHART_POINTS = 1000

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

/**
 * The chart's points: the latest verified candidates and the merged ones before them, oldest
 * first; one walk back from the newest, so the answer is at most 2 × CHART_POINTS points.
 */
export function chartPoints (candidates: readonly CandidateSummary[]): Pick<ChartView, 'points' | 'pointsTotal'> {
  const points: ChartView['points'] = []
  let total = 0
  let merged = 0
  for (let i = candidates.length - 1; i >= 0; i--) {
    const c = candidates[i] as CandidateSummary
    if (c.verifiedMetric === null) continue
    total++
    if (total > CHART_POINTS && (c.state !== 'merged' || merged >= CHART_POINTS)) continue
    if (total > CHART_POINTS) merged++
    points.push({ seq: c.seq, time: c.verifiedAt ?? c.receivedAt, metric: c.verifiedMetric, state: c.state })
  }
  return { points: points.reverse(), pointsTotal: total }
}

/** The best as a step line over time: its metric after each merge (and revert), from the first measured baseline on. */
export function bestLine (merges: MergeView[], initial: number | null): ChartView['best'] {
  const known = new Map<string, number>()
  return merges.flatMap((m) => {
    // A revert row names a commit that was the best before; the initial one has the first baseline measurement.
    const metric = m.kind === 'initial' ? initial : m.metric ?? known.get(m.commit) ?? null
    if (metric === null) return []
    known.set(m.commit, metric)
    return [{ time: m.mergedAt, metric, commit: m.commit }]
  })
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
