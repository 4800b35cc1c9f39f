import { commitTree, commitTreeOn, improvement, mergeTrees, type Manifest } from '@autoresearch/protocol'
import type { Local, WorkerComponents } from '../components.ts'
import type { BaseRuns } from './base-runs.ts'
import { stopped } from '@autoresearch/runner'

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
  /** The current experiment's number, for the progress event. */
  n?: number
  /** The local commit last submitted on the old base: where it lands in the replayed chain is what stays submitted. */
  submitted?: string
}

/** The commits from `base` (excluded) to `tip`, oldest first, when `tip` is `steps` first-parent commits above `base`; else undefined. */
export async function chainOf (gitdir: string, tip: string, base: string, steps: number): Promise<string[] | undefined> {
  const chain: string[] = []
  for (let at = tip; at !== base; at = (await commitTree(gitdir, at)).parents[0] ?? '') {
    if (at === '' || chain.length === steps) return undefined
    chain.unshift(at)
  }
  return chain.length === steps ? chain : undefined
}

/**
 * The local chain replayed onto `onto` one kept edit at a time, each as a cherry-pick: an
 * edit the new best holds already (our own submission merged, another worker's same change)
 * is a no-op there and is left out, with its description. Undefined on a conflict.
 */
export async function replay (components: Pick<WorkerComponents, 'gitdir' | 'name'>, chain: string[], kept: string[], oldBase: string, onto: string): Promise<Replayed | undefined> {
  const { gitdir } = components
  let at = { commit: onto, tree: (await commitTree(gitdir, onto)).tree, kept: [] as string[] }
  const steps: string[] = []
  let parent = oldBase
  for (const [i, step] of chain.entries()) {
    const merged = await mergeTrees(gitdir, step, at.commit, { base: parent })
    parent = step
    if ('conflicts' in merged) return undefined
    if (merged.tree !== at.tree) {
      const description = kept[i] ?? ''
      at = { commit: await commitTreeOn(gitdir, merged.tree, at.commit, description, components.name), tree: merged.tree, kept: [...at.kept, description] }
    }
    steps.push(at.commit)
  }
  return { ...at, steps }
}

/** A chain replayed: its tip, and where the replay stood after each step of the chain (`onto` while every step so far was a no-op). */
export interface Replayed { commit: string, tree: string, kept: string[], steps: string[] }

/**
 * Local improvements carried onto the new best; kept only if clean, not a no-op and still
 * better than the new best. Only the local change (from the old base) is carried: after a
 * revert the new best is older than the old base, and the reverted merge must not come back.
 * Each kept edit is replayed on its own (one commit per kept description, as the loop made
 * them), so an edit the new best already holds drops out of the chain's description; a chain
 * not made that way (an older state) is merged whole and keeps its descriptions. Returns the
 * new local best, or undefined to restart from the best.
 */
export async function carryOver (components: Pick<WorkerComponents, 'gitdir' | 'trial' | 'name' | 'results' | 'emit'>, args: CarryOverArgs, options: { signal?: AbortSignal } = {}): Promise<{ local: Local, keptSinceBase: string[], submittedLocal?: string } | undefined> {
  const { gitdir } = components
  const { base, kept } = args
  const chain = await chainOf(gitdir, args.local, args.oldBase, kept.length)
  let carried: { commit: string, tree: string, kept: string[], steps?: string[] } | undefined
  if (chain !== undefined) carried = await replay(components, chain, kept, args.oldBase, base.commit)
  else {
    const merged = await mergeTrees(gitdir, args.local, base.commit, { base: args.oldBase })
    if (!('conflicts' in merged)) carried = { commit: await commitTreeOn(gitdir, merged.tree, base.commit, kept.join('; ').slice(0, 300), components.name), tree: merged.tree, kept: [...kept] }
  }
  if (carried === undefined || carried.tree === (await commitTree(gitdir, base.commit)).tree) return undefined
  const { commit } = carried
  const description = `carried over: ${carried.kept.join('; ')}`.slice(0, 300)
  // The new best was in the local chain already (our own submission merged): nothing changed, nothing to run again.
  if (carried.tree === (await commitTree(gitdir, args.local)).tree) args.runs?.sameTree(commit, args.local)
  else components.emit({ type: 'measuring', what: 'carried', commit, seed: args.seed, run: 1, runs: 1, n: args.n ?? 0 })
  const result = stopped(await components.trial({ manifest: args.manifest, commit, seed: args.seed }, options), options.signal)
  if (!result.ok || improvement(args.manifest, base.metric, result.metric) <= 0) return undefined
  components.results.append({ commit, metric: result.metric, memoryGb: result.memoryGb, status: 'keep', description })
  components.emit({ type: 'rebased-local', commit, metric: result.metric })
  // The pending submission is carried onto the new best by the coordinator as well: the edits it holds stay submitted.
  const submitted = carried.steps?.[chain?.indexOf(args.submitted ?? '') ?? -1]
  return { local: { commit, metric: result.metric }, keptSinceBase: carried.kept, ...(submitted === undefined || submitted === base.commit ? {} : { submittedLocal: submitted }) }
}
