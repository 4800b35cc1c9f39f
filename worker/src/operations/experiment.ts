import { improvement, type Manifest } from '@autoresearch/protocol'
import type { TrialResult } from '@autoresearch/runner'
import type { Proposal } from '../agents/types.ts'
import type { Local, WorkerComponents } from '../components.ts'
import type { ResultRow } from '../results.ts'
import { crashReason } from '../run-logs.ts'
import type { NoiseFor } from './noise.ts'

/**
 * The results.tsv row of one experiment: a crash, a gain over the local best beyond the
 * worker's own noise σ on this best (keep: a smaller one is most likely that noise, and a chain
 * of them would be spent on a confirmation that fails), or not (discard). Without an estimate
 * yet (`noise` null) any gain is kept. A crash has no metric and says why in its description.
 */
export function judge (manifest: Manifest, local: Local, commit: string, description: string, result: TrialResult, noise: number | null = null): ResultRow {
  if (!result.ok) return { commit, metric: null, memoryGb: 0, status: 'crash', description: `${description} (${result.reason}: ${crashReason(result)})` }
  const status = improvement(manifest, local.metric, result.metric) > (noise ?? 0) ? 'keep' : 'discard'
  return { commit, metric: result.metric, memoryGb: result.memoryGb, status, description }
}

export interface ExperimentArgs {
  manifest: Manifest
  local: Local
  proposal: Proposal
  /** The proposal's commit on the local best (made by the caller, ahead of the run before it when it can: operations/lookahead.ts). */
  commit: string
  /** The position's experiment seed (operations/seeds.ts): the local best's metric is on it. */
  seed: number
  /** The worker's noise σ on this best, which a keep must beat (judge): measured first when it is due and the gain needs it (noise.ts). */
  noiseFor: NoiseFor
  n: number
  /** The network best and the edit's normalized hash, for the event (who watches counts repeats by them). */
  best?: string
  diffHash?: string
}

/**
 * Runs the proposal's commit, logs it and reports it. Returns the row, or undefined when the
 * run was stopped (not a crash of the candidate: nothing is logged).
 */
export async function experiment (components: Pick<WorkerComponents, 'trial' | 'results' | 'emit'>, args: ExperimentArgs, options: { signal?: AbortSignal } = {}): Promise<ResultRow | undefined> {
  const { manifest, local, proposal, commit, seed, n, best, diffHash, noiseFor } = args
  components.emit({ type: 'phase', phase: 'training', n })
  const result = await components.trial({ manifest, commit, seed }, options)
  if (!result.ok && result.reason === 'aborted') return undefined
  let sigma: number | null = null
  if (result.ok) {
    // Stopped while measuring the noise: not judged, so not run (the caller runs it again).
    try { sigma = await noiseFor(local.metric, result.metric) } catch (err) { if (options.signal?.aborted === true) return undefined; throw err }
  }
  const row = judge(manifest, local, commit, proposal.description, result, sigma)
  components.results.append(row)
  const localBest = row.status === 'keep' && row.metric !== null ? row.metric : local.metric
  components.emit({ type: 'experiment', n, row, localBest, ...(best === undefined ? {} : { best }), ...(diffHash === undefined ? {} : { diffHash }), ...(result.ok ? {} : { logTail: result.logTail }), ...(result.log === undefined ? {} : { log: result.log }) })
  return row
}
