import type { CandidateRow, Store } from './store/index.ts'
import type { InFlight } from './rules/hold.ts'

/** The members of the merge group a candidate is (or carries, as a rebase of one); none for an ordinary candidate. */
export const membersOf = (store: Pick<Store, 'groupMembers'>, c: Pick<CandidateRow, 'seq' | 'origin_seq'>): CandidateRow[] =>
  store.groupMembers(c.origin_seq ?? c.seq)

/** Whose work a candidate is: its submitter, or the author of each member of its merge group. */
export function authorsOf (store: Pick<Store, 'groupMembers'>, c: Pick<CandidateRow, 'seq' | 'origin_seq' | 'submitter'>): string[] {
  const members = membersOf(store, c)
  return members.length === 0 ? [c.submitter] : members.map((m) => m.submitter)
}

/** How many submissions a merge of `c` carries: its group's members, or itself. */
export const submissionsIn = (store: Pick<Store, 'groupMembers'>, c: Pick<CandidateRow, 'seq' | 'origin_seq'>): number =>
  Math.max(1, membersOf(store, c).length)

/** The candidates on `parent` under a live lease at `now` (but `except`), with the submissions each carries and its live leases: what a pass on `parent` may wait for (rules/hold.ts). */
export function inFlightOn (store: Pick<Store, 'groupMembers' | 'candidatesOn' | 'leasedCandidates' | 'jobsFor'>, parent: string, now: number, except?: number): InFlight[] {
  const leased = store.leasedCandidates(now)
  const out: InFlight[] = []
  for (const c of store.candidatesOn(parent, ['queued', 'verifying'])) {
    if (!leased.has(c.seq) || c.seq === except) continue
    const jobs = store.jobsFor(c.seq).filter((j) => j.state === 'leased' && j.lease_expires_at >= now)
      .map((j) => ({ leasedAt: j.leased_at, leaseUntil: j.lease_expires_at, pairs: j.seeds.length }))
    out.push({ seq: c.seq, submissions: submissionsIn(store, c), jobs })
  }
  return out
}

/**
 * How fast a candidate's latest round ran: milliseconds per pair, from each of its jobs'
 * lease to its attestation (the slowest job); undefined before any attestation.
 */
export function paceOf (store: Pick<Store, 'attestationsFor' | 'jobsFor'>, seq: number): number | undefined {
  const attested = store.attestationsFor(seq)
  const round = attested.reduce((r, a) => Math.max(r, a.round), 0)
  const jobs = new Map(store.jobsFor(seq).map((j) => [j.id, j]))
  let pace: number | undefined
  for (const a of attested) {
    const job = jobs.get(a.job_id)
    if (a.round !== round || job === undefined || a.body.trials.length === 0) continue
    pace = Math.max(pace ?? 0, (a.received_at - job.leased_at) / a.body.trials.length)
  }
  return pace
}
