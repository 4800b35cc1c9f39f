import type { CoordinatorClient, InfoReply } from '@autoresearch/protocol'
import { BestUnrunnableError } from '../errors.ts'
import type { WorkerComponents } from '../components.ts'
import type { Position } from '../state.ts'
import type { BaseRuns } from './base-runs.ts'
import { carryOver } from './carry-over.ts'
import { reusableNoise } from './noise.ts'
import { ownSeeds, planSeeds, type Seeds } from './seeds.ts'
import { stopped } from '@autoresearch/runner'

export interface MoveArgs {
  info: InfoReply
  /** Commits whose objects are here already (the `have` list of the fetch). */
  known: Set<string>
  /** Where the loop stood on the previous best, if anywhere: its local gains are carried over. */
  previous?: Omit<Position, 'seeds'> & { seeds?: Seeds }
  /** The cache of the base's runs, which now follows the new best (with its runs already, when it is our own submission). */
  runs: Pick<BaseRuns, 'rebase' | 'sameTree' | 'know'>
  /** The current experiment's number, for phase events. */
  n: number
  /**
   * Told, once the best's files are here and before its measurement, when the loop will start
   * from the best itself (no local gains to carry over): the caller may have the agent propose
   * on those files while the best is measured (operations/lookahead.ts).
   */
  synced?: (on: { base: string, local: string }) => void
}

/**
 * Moves the loop onto a new network best: fetches it (held to the cause's limits, as the
 * coordinator's intake is: a coordinator cannot fill our disk), measures it (no run when it
 * is our own submission merged as it is: its runs are cached; none either when verifiers of
 * this hardware class measured it: their runs are taken, seeds.ts); this machine's noise on it
 * is the previous estimate's where that can serve (noise.ts), else due: measured when a gain
 * first needs it (noise.ts `noiseNeeded`), not on arrival. Logs it, and carries local
 * improvements over by a three-way merge if that is clean and still better; otherwise the
 * loop restarts from the new best.
 */
export async function moveToBest (components: { client: Pick<CoordinatorClient, 'sync'> } & Pick<WorkerComponents, 'gitdir' | 'trial' | 'seed' | 'name' | 'hardware' | 'results' | 'emit'>, args: MoveArgs, options: { signal?: AbortSignal } = {}): Promise<Position> {
  const { info, known, previous, runs, n } = args
  const { best, manifest } = info
  components.emit({ type: 'phase', phase: 'syncing', n })
  if (!known.has(best.commit)) {
    await components.client.sync(components.gitdir, best.commit, [...known].slice(-256), { signal: options.signal, limits: manifest.limits })
    known.add(best.commit)
  }
  if (previous === undefined || previous.local.commit === previous.base.commit) args.synced?.({ base: best.commit, local: best.commit })
  components.emit({ type: 'phase', phase: 'measuring', n })
  const { own } = runs.rebase(best.commit)
  const hardware = components.hardware?.class
  // Our own submission merged as it is ran on the seeds the loop was on: its runs stand on them.
  const plan = own ? { seeds: previous?.seeds ?? ownSeeds(components.seed), verified: [], noise: null } : planSeeds(components.seed, info.bestRuns, hardware)
  for (const run of plan.verified) runs.know(run.seed, run.metric)
  const { seeds } = plan
  const noiseHardware = hardware === undefined ? {} : { noiseHardware: hardware }
  const estimate = reusableNoise(previous, { own, hardware }) ?? (plan.noise !== null ? { noise: plan.noise, noiseAge: 0, ...noiseHardware } : { noise: null, noiseDue: true })
  // A run takes minutes on a real cause: it is announced ("measuring the best: seed 1/1"), a cached one is not.
  if (!own && !plan.verified.some((r) => r.seed === seeds.experiment)) components.emit({ type: 'measuring', what: 'best', commit: best.commit, seed: seeds.experiment, run: 1, runs: 1, n })
  const measured = stopped(await components.trial({ manifest, commit: best.commit, seed: seeds.experiment }, options), options.signal)
  if (!measured.ok) throw new BestUnrunnableError(`the published best does not run here (${measured.reason}): ${measured.message}${measured.log === undefined ? '' : ` (its log: ${measured.log})`}\n${measured.logTail}`, best.commit)
  const base = { commit: best.commit, metric: measured.metric }
  const { noise } = estimate
  const verified = plan.verified.length
  components.results.append({ commit: best.commit, metric: measured.metric, memoryGb: measured.memoryGb, status: 'keep', description: `network best (${best.seq === 0 ? 'initial' : `merge ${best.seq}`})${verified > 0 ? ', verifiers\' runs' : ''}` })
  components.emit({ type: 'best', commit: best.commit, networkMetric: best.metric, localMetric: measured.metric, noise, ...('noiseDue' in estimate ? { noiseDue: true } : {}), verifiedRuns: verified })
  const fresh: Position = { base, seeds, local: { ...base }, keptSinceBase: [], ...estimate }
  if (previous === undefined || previous.local.commit === previous.base.commit) return fresh
  const carried = await carryOver(components, { manifest, local: previous.local.commit, oldBase: previous.base.commit, base, seed: seeds.experiment, kept: previous.keptSinceBase, runs, n, submitted: previous.submittedLocal }, options)
  if (carried === undefined) return fresh
  // Edits of a pending submission still in the carried chain: a later find that needs them goes on top of that candidate (the coordinator follows its carried copy).
  const onto = carried.submittedLocal !== undefined && previous.submittedCandidate !== undefined ? { submittedCandidate: previous.submittedCandidate, ...(previous.adopted === undefined ? {} : { adopted: previous.adopted }) } : {}
  return { ...fresh, ...carried, ...onto }
}
