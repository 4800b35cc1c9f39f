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

/** The candidates on `parent` under a live lease at `now` (but `except`), with the submissions each carries: what a pass on `parent` may wait for (rules/hold.ts). */
export function inFlightOn (store: Pick<Store, 'groupMembers' | 'candidatesOn' | 'leasedCandidates'>, parent: string, now: number, except?: number): InFlight[] {
  const leased = store.leasedCandidates(now)
  const out: InFlight[] = []
  for (const c of store.candidatesOn(parent, ['queued', 'verifying'])) {
    const until = leased.get(c.seq)
    if (until !== undefined && c.seq !== except) out.push({ seq: c.seq, submissions: submissionsIn(store, c), leaseUntil: until })
  }
  return out
}
