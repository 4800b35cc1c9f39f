import { commitTree, commitTreeOn, improvement, type InfoReply, type Manifest } from '@autoresearch/protocol'
import type { Local, WorkerComponents } from '../components.ts'
import { publicText } from '../secrets.ts'
import type { Position, SubmissionFields } from '../state.ts'

/**
 * Whether the local best is worth confirming and submitting: a commit not tried yet, whose
 * files this worker has not submitted already (`submittedTree`: after the merge of another candidate, ours or not,
 * carrying the local best onto the new best rebuilds the tree of our pending submission,
 * which the coordinator carries onto that best itself; `submittedLocal`: every edit of it is in a
 * submission still pending, carried there the same way), better than the base beyond the
 * cause's margin and beyond this machine's own run-to-run noise, and, when a candidate was
 * already submitted on this base, better than that claim by the margin too (or it only
 * queues a near-duplicate that goes stale when the first merges).
 */
export function worthSubmitting (manifest: Manifest, position: Pick<Position, 'base' | 'local' | 'lastClaim' | 'noise' | 'submittedLocal'>, tried: ReadonlySet<string>, submittedTree = false): boolean {
  const { base, local, lastClaim, noise, submittedLocal } = position
  if (local.commit === base.commit || local.commit === submittedLocal || tried.has(local.commit) || submittedTree) return false
  if (!beatsHere(manifest, base.metric, local.metric, noise)) return false
  return lastClaim === undefined || improvement(manifest, lastClaim, local.metric) > manifest.verification.minImprovement
}

/**
 * Whether `metric`, run here, beats the base's run here by the cause's margin and beyond this
 * machine's own run-to-run noise: what a submission must show, and a pending candidate this
 * worker builds on (operations/adopt.ts).
 */
export function beatsHere (manifest: Pick<Manifest, 'metric' | 'verification'>, base: number, metric: number, noise: number | null | undefined): boolean {
  return improvement(manifest, base, metric) > Math.max(manifest.verification.minImprovement, noise ?? 0)
}

/** Spreads of one paired gain beyond the margin at which a gain run on one seed needs no second (`beyondDoubtHere`). */
export const BEYOND_DOUBT = 6

/**
 * Whether a gain run here on the worker's seed alone is beyond doubt, so that the confirmation
 * on a second seed (operations/confirm.ts) would only spend a run: where the cause declares the
 * spread of one paired gain (`verification.sequential.noise`, what its verifiers' sequential
 * rule also reads), the gain beats the margin by BEYOND_DOUBT times that spread or this
 * machine's own (σ√2 for a gain between two runs), whichever is larger. A cause that declares
 * no spread keeps every confirmation. The confirmation is the worker's economy, not a
 * guarantee: verification decides either way (docs/trust.md).
 */
export function beyondDoubtHere (manifest: Pick<Manifest, 'metric' | 'verification'>, base: number, metric: number, noise: number | null | undefined): boolean {
  const declared = manifest.verification.sequential?.noise
  if (declared === undefined) return false
  const spread = Math.max(declared, Math.SQRT2 * (noise ?? 0))
  return improvement(manifest, base, metric) > manifest.verification.minImprovement + BEYOND_DOUBT * spread
}

/** A submission's description: its last kept edits. */
export function describeKept (kept: string[]): string {
  return kept.slice(-10).join('; ').slice(0, 500) || 'improvement'
}

/** One candidate commit on the network best, whatever local chain led to it, described by its last kept edits. */
export async function squash (components: Pick<WorkerComponents, 'gitdir' | 'name'>, local: string, base: string, kept: string[]): Promise<{ commit: string, description: string }> {
  const description = describeKept(kept)
  const { tree } = await commitTree(components.gitdir, local)
  return { commit: await commitTreeOn(components.gitdir, tree, base, description, components.name), description }
}

/** The submission's fields: the claim is the mean of the local best's two runs (worker seed and confirmation seed; its one run when its gain was beyond doubt, `confirmed` then that run); its parent is the base unless it goes on our pending candidate. */
export function submissionFields (components: Pick<WorkerComponents, 'name' | 'team' | 'hardware'>, info: Pick<InfoReply, 'causeId'>, args: { base: Local, local: Local, confirmed: { metric: number, logDigest: string }, candidate: string, description: string, parent?: string }): SubmissionFields {
  const { name, team, hardware } = components
  const profile = { ...(name === undefined ? {} : { name }), ...(team === undefined ? {} : { team }) }
  return {
    causeId: info.causeId, parent: args.parent ?? args.base.commit, candidate: args.candidate, claimedMetric: (args.local.metric + args.confirmed.metric) / 2,
    logDigest: args.confirmed.logDigest, description: publicText(args.description, 500), ...(hardware === undefined ? {} : { hardware }), profile
  }
}
