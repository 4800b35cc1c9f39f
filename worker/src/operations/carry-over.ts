import { commitTree, commitTreeOn, improvement, mergeTrees, type Manifest } from '@autoresearch/protocol'
import type { Local, WorkerComponents } from '../components.ts'
import type { BaseRuns } from './base-runs.ts'

export interface CarryOverArgs {
  manifest: Manifest
  /** The local best built on the old base. */
  local: string
  oldBase: string
  /** The new network best, as measured here (or verified on this hardware class) on `seed`. */
  base: Local
  /** The new position's experiment seed. */
  seed: number
  /** Descriptions of the edits kept on the old base. */
  kept: string[]
  /** The cache behind `trial`: a carried commit with the local best's own tree reuses its runs. */
  runs?: Pick<BaseRuns, 'sameTree'>
}

/**
 * Three-way merge of local improvements onto the new best; kept only if clean, not a
 * no-op and still better than the new best. Only the local change (from the old base) is
 * carried: after a revert the new best is older than the old base, and the reverted merge
 * must not come back. Returns the new local best, or undefined to restart from the best.
 */
export async function carryOver (components: Pick<WorkerComponents, 'gitdir' | 'trial' | 'name' | 'results' | 'emit'>, args: CarryOverArgs, options: { signal?: AbortSignal } = {}): Promise<{ local: Local, keptSinceBase: string[] } | undefined> {
  const { gitdir } = components
  const { base, kept } = args
  const merged = await mergeTrees(gitdir, args.local, base.commit, { base: args.oldBase })
  if ('conflicts' in merged || merged.tree === (await commitTree(gitdir, base.commit)).tree) return undefined
  const description = `carried over: ${kept.join('; ')}`.slice(0, 300)
  const commit = await commitTreeOn(gitdir, merged.tree, base.commit, description, components.name)
  // The new best was in the local chain already (our own submission merged): nothing changed, nothing to run again.
  if (merged.tree === (await commitTree(gitdir, args.local)).tree) args.runs?.sameTree(commit, args.local)
  const result = await components.trial({ manifest: args.manifest, commit, seed: args.seed }, options)
  if (!result.ok || improvement(args.manifest, base.metric, result.metric) <= 0) return undefined
  components.results.append({ commit, metric: result.metric, memoryGb: result.memoryGb, status: 'keep', description })
  components.emit({ type: 'rebased-local', commit, metric: result.metric })
  return { local: { commit, metric: result.metric }, keptSinceBase: [...kept] }
}
