import { commitTree, commitTreeOn } from '@autoresearch/protocol'
import type { WorkerComponents } from '../components.ts'
import { chainOf } from './carry-over.ts'
import { describeKept } from './submission.ts'

export interface StackArgs {
  /** The network best the loop builds on. */
  base: string
  /** The local best: `kept.length` commits above `base`, one per kept edit. */
  local: string
  kept: string[]
  /** The local commit last submitted on this base (a commit of the chain). */
  since: string
  /** The candidate that submission sent: a commit on the base with the files of `since`. */
  parent: string
}

/**
 * The local best as one commit on top of this worker's own pending candidate, described by
 * what was kept since that one: a later find that does not apply without the earlier one (the
 * same constant moved again, operations/delta.ts says undefined) goes out this way instead of
 * as the whole chain on the best, which would conflict with the earlier one as soon as that one
 * merges. The coordinator verifies it once its parent has merged (or against it, with
 * speculation), so the gain it measures and credits is this find's own. Undefined when `since`
 * is not in the chain or nothing was kept after it.
 */
export async function stackOn (components: Pick<WorkerComponents, 'gitdir' | 'name'>, args: StackArgs): Promise<{ commit: string, description: string } | undefined> {
  const { gitdir } = components
  const chain = await chainOf(gitdir, args.local, args.base, args.kept.length)
  const at = chain?.indexOf(args.since) ?? -1
  if (chain === undefined || at < 0 || at === chain.length - 1) return undefined
  const description = describeKept(args.kept.slice(at + 1))
  const { tree } = await commitTree(gitdir, args.local)
  return { commit: await commitTreeOn(gitdir, tree, args.parent, description, components.name), description }
}
