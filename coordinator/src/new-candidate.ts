import type { Identity, Manifest, ReceiptBody } from '@autoresearch/protocol'
import { drawRound, type SeedStore } from './seeds.ts'
import type { CandidateRow, NewCandidate, Store } from './store/index.ts'

export interface CandidateContext {
  causeId: string
  store: Pick<Store, 'nextSeq'> & SeedStore
  manifest: Manifest
  identity: Identity
}

/** What a new candidate is made of: the commit, who is credited, and the submission it carries (a rebase or group carries its first member's). */
export interface CandidateFields {
  commit: string
  tree: string
  parent: string
  submitter: string
  claimedMetric: number
  description: string
  submission: CandidateRow['submission']
  /** The submission this one verifies again (a rebase), or null. */
  origin: number | null
}

/**
 * The row of a new queued candidate, as intake, a rebase and a merge group store it: the next
 * seq, the coordinator's signed receipt, and its first round's seeds from its parent's pool.
 * Call it inside the transaction that inserts the row, so the seq is still free.
 */
export function newCandidate (ctx: CandidateContext, f: CandidateFields): NewCandidate {
  const { store } = ctx
  const receipt: ReceiptBody = { type: 'receipt', causeId: ctx.causeId, candidateSeq: store.nextSeq(), candidate: f.commit, tree: f.tree, submitter: f.submitter, receivedAt: Date.now() }
  return {
    seq: receipt.candidateSeq, commit_oid: f.commit, tree_oid: f.tree, parent_oid: f.parent, submitter: f.submitter,
    claimed_metric: f.claimedMetric, description: f.description, received_at: receipt.receivedAt, state: 'queued',
    seeds: [drawRound(store, f.parent, ctx.manifest.verification)],
    receipt: { receipt, signature: ctx.identity.sign('receipt', receipt) },
    submission: f.submission, origin_seq: f.origin
  }
}
