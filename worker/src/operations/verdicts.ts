import { isOpenState, type CandidateStatusReply, type CoordinatorClient } from '@autoresearch/protocol'
import type { WorkerComponents } from '../components.ts'

/**
 * Asks about our submissions still in flight (`pending`, updated in place) and reports
 * each one that was decided. Returns whether a claim was refused or went stale: it no
 * longer stands, so the next submission need not beat it. `trees` (the tree each pending
 * submission sent, updated in place) gives `released`: the trees of those that went stale,
 * which the network never judged, so their files may be sent again on the new best; as are
 * those of a submission the coordinator does not know (a state directory that outlived its network).
 * And `rejected`: the trees of those the network measured and rejected for good.
 */
export async function checkVerdicts (components: Pick<WorkerComponents, 'emit'> & { client: Pick<CoordinatorClient, 'candidate'> }, pending: Set<number>, options: { signal?: AbortSignal, trees?: Map<number, string> } = {}): Promise<{ claimWithdrawn: boolean, released: string[], rejected: string[] }> {
  let claimWithdrawn = false
  const released: string[] = []
  const rejected: string[] = []
  const trees = options.trees ?? new Map<number, string>()
  for (const seq of [...pending]) {
    const status = await statusOf(components.client, seq, options.signal)
    if (status !== undefined && undecided(status)) continue
    pending.delete(seq)
    const tree = trees.get(seq)
    trees.delete(seq)
    if (status === undefined) {
      // Not this coordinator's (a state directory kept across a fresh network): never judged here.
      if (tree !== undefined) released.push(tree)
      claimWithdrawn = true
      continue
    }
    if (status.state === 'rebased' && status.rebasedAs !== null) {
      pending.add(status.rebasedAs)
      if (tree !== undefined) trees.set(status.rebasedAs, tree)
    }
    if (status.state === 'rejected' || status.state === 'stale') claimWithdrawn = true
    if (status.state === 'stale' && tree !== undefined) released.push(tree)
    if (status.state === 'rejected' && tree !== undefined) rejected.push(tree)
    components.emit({ type: 'verdict', status })
  }
  return { claimWithdrawn, released, rejected }
}

/**
 * Forgets, in `tried` (updated in place), the local bests whose files were `released`: they are
 * confirmed again on the new best before they are sent. A carry onto the new best that rebuilds
 * the same files within the same second rebuilds the very commit that was confirmed (same tree,
 * parent, message and time), which `tried` would otherwise skip for good.
 */
export async function forgetTried (tried: Set<string>, released: string[], treeOf: (commit: string) => Promise<string | undefined>): Promise<void> {
  if (released.length === 0) return
  for (const commit of [...tried]) {
    const tree = await treeOf(commit)
    if (tree !== undefined && released.includes(tree)) tried.delete(commit)
  }
}

/** Whether a candidate's fate is still open: in the queue, or a provisional rejection (on top of a candidate not yet merged), which may still be carried back and verified on the best. */
export const undecided = (status: CandidateStatusReply): boolean => isOpenState(status.state) || status.provisional === true

/** A candidate's status, or undefined when the coordinator does not know it. */
export async function statusOf (client: Pick<CoordinatorClient, 'candidate'>, seq: number, signal?: AbortSignal): Promise<CandidateStatusReply | undefined> {
  try {
    return await client.candidate(seq, { signal })
  } catch (err) {
    if ((err as Error).name === 'UnknownCandidateError') return undefined
    throw err
  }
}
