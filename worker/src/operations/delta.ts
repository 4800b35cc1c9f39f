import { commitTree, commitTreeOn } from '@autoresearch/protocol'
import type { WorkerComponents } from '../components.ts'
import { chainOf, replay } from './carry-over.ts'
import { describeKept } from './submission.ts'

export interface DeltaArgs {
  /** The network best the loop builds on. */
  base: string
  /** The local best: `kept.length` commits above `base`, one per kept edit. */
  local: string
  kept: string[]
  /** The local commit submitted last on this base (a commit of the chain). */
  since: string
  /**
   * Where the edits go (default `base`): our own pending candidate, the one that sent `since`'s
   * edits, for a find that does not apply without them (its commit's parent is then that one).
   */
  onto?: string
}

/**
 * The edits kept after the last submission on this base, replayed onto the base without the
 * ones before them, as one commit on the base: what this worker found since, on its own.
 * Submitted this way, a second find does not carry the first again, so it merges (or joins a
 * batch) with other workers' finds even when the first does not: chains that overlap were
 * the commonest reason candidates went stale. Undefined when `since` is not in the chain,
 * nothing was kept after it, or the later edits do not apply without the earlier ones.
 *
 * With `onto` the same edits go on top of our pending candidate instead: a find that needs the
 * earlier one (the same constant moved again) is verified once that one has merged, against
 * it, so what it measures and credits is its own gain; sent with the whole chain on the best
 * it conflicted with the earlier one as soon as that merged, and went stale.
 */
export async function deltaSince (components: Pick<WorkerComponents, 'gitdir' | 'name'>, args: DeltaArgs): Promise<{ commit: string, tree: string, description: string } | undefined> {
  const { gitdir } = components
  const chain = await chainOf(gitdir, args.local, args.base, args.kept.length)
  const at = chain?.indexOf(args.since) ?? -1
  if (chain === undefined || at < 0 || at === chain.length - 1) return undefined
  const onto = args.onto ?? args.base
  const replayed = await replay(components, chain.slice(at + 1), args.kept.slice(at + 1), args.since, onto)
  if (replayed === undefined || replayed.tree === (await commitTree(gitdir, onto)).tree) return undefined
  const description = describeKept(replayed.kept)
  return { commit: await commitTreeOn(gitdir, replayed.tree, onto, description, components.name), tree: replayed.tree, description }
}
