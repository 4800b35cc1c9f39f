import { isOpenState } from '@autoresearch/protocol'
import type { CandidateState } from '../store/index.ts'

/** What a candidate's page says about where it stands. */
export interface Outcome {
  /** Whether verification may still decide it. */
  pending: boolean
  /** Short, for the status box: "Stale", "Being verified", ... */
  title: string
  /** What the state means for this candidate, for a visitor who does not know the protocol. */
  text: string
  /** The test section's line while there is no verdict. */
  noVerdict: string
  tone: 'good' | 'bad' | 'pending' | 'closed'
}

const OUTCOMES: Record<CandidateState, Omit<Outcome, 'noVerdict' | 'pending'> & { noVerdict: string | null }> = {
  queued: { tone: 'pending', title: 'Waiting for a verifier', text: 'It waits in the queue; verifiers lease candidates in queue order.', noVerdict: null },
  verifying: { tone: 'pending', title: 'Being verified', text: 'Verifiers are re-running the baseline and this candidate on the seeds drawn for it.', noVerdict: null },
  passed: { tone: 'pending', title: 'Passed against an older best', text: 'It passed against a best that has since moved; it goes on, alone or in a merge group, against the new best.', noVerdict: null },
  merged: { tone: 'good', title: 'Merged', text: 'Verified and merged: it is, or was, the best.', noVerdict: 'No verdict of its own: it was merged as part of a merge group.' },
  rejected: { tone: 'bad', title: 'Rejected', text: 'Verification decided against it (the reason says why); it is closed.', noVerdict: 'No paired test: it was rejected before one could be run.' },
  stale: { tone: 'closed', title: 'Stale', text: 'Closed without a verdict: the best moved and its change could not be carried onto the new best, so it will not be verified. Its author may redo it on the new best.', noVerdict: 'No verdict: it went stale before verification decided, and it will not be verified.' },
  rebased: { tone: 'closed', title: 'Rebased', text: 'Closed: the coordinator carried its change onto a newer best as another candidate (linked below), which is verified instead; credit goes to its original submitter.', noVerdict: 'No verdict of its own: the candidate that carries its change is verified instead.' },
  reverted: { tone: 'bad', title: 'Reverted', text: 'It was merged, then reverted by the host: it is no longer part of the best.', noVerdict: 'No verdict of its own was recorded.' }
}

/** A rejection measured on top of a candidate that has not merged (speculation): it may yet be verified on the best. */
const PROVISIONAL: Omit<Outcome, 'noVerdict' | 'pending'> = {
  tone: 'pending',
  title: 'Rejected on top of a candidate not merged',
  text: 'It was verified on top of another candidate still being verified (speculation) and did not beat it. The rejection stands if that one merges; if it does not, this change is carried back onto the best and verified there.'
}

/** A pass on the best that waits for a larger merge group still being verified there (rules/hold.ts). */
const held = (group: number): Omit<Outcome, 'noVerdict' | 'pending'> => ({
  tone: 'pending',
  title: 'Passed, waiting for a larger merge group',
  text: `It passed against the best while merge group #${group}, which carries more submissions, was still being verified there. If that group merges, this change goes on in the next group against the new best; if not, this candidate merges on the trials it already passed.`
})

/** A candidate built on a candidate still undecided: its author's own, or another's where the cause declares `collaboration.buildOnPending` (carry-plan.ts). */
const buildsOn = (seq: number): Omit<Outcome, 'noVerdict' | 'pending'> => ({
  tone: 'pending',
  title: 'Waiting for the candidate it builds on',
  text: `Its author built it on candidate #${seq} (or on the change that candidate carries), which is not decided yet. If that one merges, this candidate is verified against it, and credited only what it adds; if not, its own change is carried onto the best and verified there.`
})

/** Where a candidate in `state` stands, said plainly; `rounds` and `seeds` fill the pending line; `provisional` marks a rejection on a base not merged, `heldFor` a pass waiting for that merge group, `waitsFor` a queued candidate waiting for the one it builds on. */
export function outcomeOf (state: CandidateState, rounds: number, seeds: number[], opts: { provisional?: boolean, heldFor?: number | null, waitsFor?: number | null } = {}): Outcome {
  const provisional = state === 'rejected' && opts.provisional === true
  const waiting = state === 'passed' && typeof opts.heldFor === 'number'
    ? held(opts.heldFor)
    : state === 'queued' && typeof opts.waitsFor === 'number' ? buildsOn(opts.waitsFor) : undefined
  const o = provisional ? { ...OUTCOMES.rejected, ...PROVISIONAL } : { ...OUTCOMES[state], ...waiting }
  // Open candidates, and a provisional rejection, may still be decided by verification.
  return { ...o, pending: provisional || isOpenState(state), noVerdict: o.noVerdict ?? `No verdict yet (${rounds} round(s) asked for, seeds ${seeds.join(', ')}).` }
}
