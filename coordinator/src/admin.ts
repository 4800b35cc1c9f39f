import { improvement, UsageError, type Manifest } from '@autoresearch/protocol'
import { authorsOf, membersOf } from './group-members.ts'
import { dailyQuota, verifierReputation } from './policy.ts'
import type { Store, StoredVerdict } from './store/index.ts'

/** The operator asked for a revert while the best is not a verified merge. */
export class NothingToRevertError extends UsageError { override name = 'NothingToRevertError' }

/** One candidate with its state, seeds, trials and the test's figures. */
export interface CandidateReport {
  seq: number
  commit: string
  parent: string
  tree: string
  submitter: string
  originSeq: number | null
  state: string
  reason: string | null
  claimedMetric: number
  description: string
  receivedAt: number
  seeds: number[]
  rounds: number
  trials: StoredVerdict['trials']
  test: StoredVerdict['test']
  baselineMetric: number | null
  candidateMetric: number | null
  claimContradicted: boolean
}

/** Every candidate with its state, seeds, trials and the test's figures (the `candidates --json` view). */
export function candidatesReport (store: Pick<Store, 'candidates'>): CandidateReport[] {
  return store.candidates().map((c) => {
    const verdict = c.verdict
    return {
      seq: c.seq, commit: c.commit_oid, parent: c.parent_oid, tree: c.tree_oid, submitter: c.submitter, originSeq: c.origin_seq,
      state: c.state, reason: c.reason, claimedMetric: c.claimed_metric, description: c.description, receivedAt: c.received_at,
      seeds: c.seeds.flat(), rounds: c.rounds,
      trials: verdict?.trials ?? [], test: verdict?.test ?? null, baselineMetric: verdict?.baselineMetric ?? null,
      candidateMetric: verdict?.candidateMetric ?? null, claimContradicted: verdict?.claimContradicted ?? false
    }
  })
}

export interface Credit {
  publicKey: string
  /** Sum of the verified gains of this identity's standing merges (never the claims). */
  verifiedGain: number
  merges: number
  verificationRuns: number
  accepted: number
  rejected: number
  contradicted: number
  quota: number
  banned: boolean
  verifierReputation: number
}

/** Credit is derived from standing merges and attestations, so a revert recomputes it by construction. */
export function credits (store: Pick<Store, 'identity' | 'standingMerges' | 'candidate' | 'verificationRuns' | 'identities' | 'groupMembers'>, manifest: Manifest): Credit[] {
  const byKey = new Map<string, Credit>()
  const entry = (publicKey: string): Credit => {
    let c = byKey.get(publicKey)
    if (c === undefined) {
      const id = store.identity(publicKey)
      c = { publicKey, verifiedGain: 0, merges: 0, verificationRuns: 0, accepted: id.accepted, rejected: id.rejected, contradicted: id.contradicted, quota: dailyQuota(id), banned: id.banned === 1, verifierReputation: verifierReputation(id) }
      byKey.set(publicKey, c)
    }
    return c
  }
  for (const merge of store.standingMerges()) {
    const candidate = merge.candidate_seq === null ? undefined : store.candidate(merge.candidate_seq)
    if (candidate === undefined || merge.baseline_metric === null || merge.metric === null) continue
    // A merge group credits each member's author with the gain its own verification measured;
    // a batch's members, never verified alone, share the group's verified gain equally (docs/trust.md).
    const members = membersOf(store, candidate)
    const gain = improvement(manifest, merge.baseline_metric, merge.metric)
    const unverified = members.filter((m) => m.verdict === null).length
    const shares = members.length === 0
      ? [{ author: candidate.submitter, gain }]
      : members.map((m) => ({ author: m.submitter, gain: m.verdict?.meanImprovement ?? gain / unverified }))
    for (const { author, gain } of shares) {
      const c = entry(author)
      c.verifiedGain += gain
      c.merges++
    }
  }
  for (const { verifier, runs } of store.verificationRuns()) entry(verifier).verificationRuns += runs
  for (const id of store.identities()) entry(id.public_key)
  return [...byKey.values()].sort((a, b) => b.verifiedGain - a.verifiedGain || b.verificationRuns - a.verificationRuns)
}

/**
 * Moves the best back to what it was before the latest standing merge. History is
 * kept: the merge is marked reverted and a `revert` row names the restored commit.
 * Run again, it reverts the merge before that one (candidates built on any of them
 * carry only their own change, see rebase.ts).
 */
export function revertLatestMerge (store: Pick<Store, 'transaction' | 'standingMerges' | 'lastMerge' | 'revertMerge' | 'candidate' | 'setCandidateState' | 'bumpIdentity' | 'groupMembers'>): { reverted: number, commit: string } {
  return store.transaction(() => {
    const standing = store.standingMerges()
    const last = standing[standing.length - 1]
    if (last === undefined || last.parent_oid === null || last.commit_oid !== store.lastMerge()?.commit_oid) {
      throw new NothingToRevertError('the current best is not a verified merge; there is nothing to revert')
    }
    store.revertMerge({ ...last, parent_oid: last.parent_oid }, Date.now())
    if (last.candidate_seq !== null) {
      const candidate = store.candidate(last.candidate_seq)
      store.setCandidateState(last.candidate_seq, 'reverted', 'reverted by the operator')
      for (const author of candidate === undefined ? [] : authorsOf(store, candidate)) store.bumpIdentity(author, 'accepted', -1)
    }
    return { reverted: last.index, commit: last.parent_oid }
  })
}
