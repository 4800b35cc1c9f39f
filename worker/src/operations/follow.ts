import type { CoordinatorClient, InfoReply } from '@autoresearch/protocol'
import { BestUnrunnableError } from '../errors.ts'
import type { WorkerComponents } from '../components.ts'
import type { Position } from '../state.ts'
import type { BaseRuns } from './base-runs.ts'
import { carryOver } from './carry-over.ts'
import { estimateNoise } from './noise.ts'

export interface MoveArgs {
  info: InfoReply
  /** Commits whose objects are here already (the `have` list of the fetch). */
  known: Set<string>
  /** Where the loop stood on the previous best, if anywhere: its local gains are carried over. */
  previous?: Position
  /** The cache of the base's runs, which now follows the new best. */
  runs: Pick<BaseRuns, 'rebase'>
  /** The current experiment's number, for phase events. */
  n: number
}

/**
 * Moves the loop onto a new network best: fetches it (held to the cause's limits, as the
 * coordinator's intake is: a coordinator cannot fill our disk), measures it and this
 * machine's noise on it, logs it, and carries local improvements over by a three-way merge
 * if that is clean and still better; otherwise the loop restarts from the new best.
 */
export async function moveToBest (components: { client: Pick<CoordinatorClient, 'sync'> } & Pick<WorkerComponents, 'gitdir' | 'trial' | 'seed' | 'name' | 'results' | 'emit'>, args: MoveArgs, options: { signal?: AbortSignal } = {}): Promise<Position> {
  const { info, known, previous, runs, n } = args
  const { best, manifest } = info
  components.emit({ type: 'phase', phase: 'syncing', n })
  if (!known.has(best.commit)) {
    await components.client.sync(components.gitdir, best.commit, [...known].slice(-256), { signal: options.signal, limits: manifest.limits })
    known.add(best.commit)
  }
  components.emit({ type: 'phase', phase: 'measuring', n })
  runs.rebase(best.commit)
  const measured = await components.trial({ manifest, commit: best.commit, seed: components.seed }, options)
  if (!measured.ok) throw new BestUnrunnableError(`the published best does not run here (${measured.reason}): ${measured.message}\n${measured.logTail}`)
  const base = { commit: best.commit, metric: measured.metric }
  const noise = await estimateNoise(components, manifest, best.commit, measured.metric, options)
  components.results.append({ commit: best.commit, metric: measured.metric, memoryGb: measured.memoryGb, status: 'keep', description: `network best (${best.seq === 0 ? 'initial' : `merge ${best.seq}`})` })
  components.emit({ type: 'best', commit: best.commit, networkMetric: best.metric, localMetric: measured.metric, noise })
  const fresh: Position = { base, local: { ...base }, keptSinceBase: [], noise }
  if (previous === undefined || previous.local.commit === previous.base.commit) return fresh
  const carried = await carryOver(components, { manifest, local: previous.local.commit, oldBase: previous.base.commit, base, kept: previous.keptSinceBase }, options)
  return carried === undefined ? fresh : { ...fresh, ...carried }
}
