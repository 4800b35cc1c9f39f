import { UnknownCandidateError, type CandidateStatusReply, type CandidateStatusRequest, type Handler } from '@autoresearch/protocol'
import type { z } from 'zod'
import type { Store } from '../store/index.ts'

/** What became of a candidate: its state and reason, the candidate it was rebased as, its verified gain. */
export function candidateStatus (store: Pick<Store, 'candidate' | 'latestRebase'>, seq: number): CandidateStatusReply {
  const c = store.candidate(seq)
  if (c === undefined) throw new UnknownCandidateError(`there is no candidate #${seq}`)
  const rebased = store.latestRebase(c.origin_seq ?? seq)
  return { ok: true, seq, state: c.state, reason: c.reason, rebasedAs: c.state === 'rebased' ? rebased ?? null : null, meanImprovement: c.verdict?.meanImprovement ?? null }
}

/** `candidate`: a submitter asks what became of its candidate. */
export function candidateStatusHandler (c: { store: Pick<Store, 'candidate' | 'latestRebase'> }): Handler<z.infer<typeof CandidateStatusRequest>> {
  return async (req) => candidateStatus(c.store, req.seq)
}
