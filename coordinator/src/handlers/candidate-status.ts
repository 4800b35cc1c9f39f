import { UnknownCandidateError, type CandidateStatusReply, type CandidateStatusRequest, type Handler } from '@autoresearch/protocol'
import type { z } from 'zod'
import { provisionalRejection } from '../rules/speculation.ts'
import type { Store } from '../store/index.ts'

type StatusStore = Pick<Store, 'candidate' | 'latestRebase' | 'isMergedCommit'>

/**
 * What became of a candidate: its state and reason, the candidate it was rebased as, its
 * verified gain, and whether a rejection is provisional: measured against a commit that never
 * became a best (speculation), it holds only once that commit merges.
 */
export function candidateStatus (store: StatusStore, seq: number): CandidateStatusReply {
  const c = store.candidate(seq)
  if (c === undefined) throw new UnknownCandidateError(`there is no candidate #${seq}`)
  const rebased = store.latestRebase(c.origin_seq ?? seq)
  const provisional = provisionalRejection(c.state, store.isMergedCommit(c.parent_oid))
  return { ok: true, seq, state: c.state, reason: c.reason, rebasedAs: c.state === 'rebased' ? rebased ?? null : null, meanImprovement: c.verdict?.meanImprovement ?? null, ...(provisional ? { provisional } : {}) }
}

/** `candidate`: a submitter asks what became of its candidate. */
export function candidateStatusHandler (c: { store: StatusStore }): Handler<z.infer<typeof CandidateStatusRequest>> {
  return async (req) => candidateStatus(c.store, req.seq)
}
