/**
 * Quorum: what a verification round needs before the candidate is decided, and whose
 * jobs and attestations count toward it. In open mode a job may be a shadow job (a key on
 * probation: recorded, compared, never counted) or a spot check (a trusted key checked
 * against others: the round then needs one attestation more).
 */
import type { JobRole } from '../store/index.ts'

/** A verification job as the quorum rules see it (a JobRow has it). */
export interface RoundJob {
  id: number
  verifier: string
  state: 'leased' | 'done' | 'expired'
}

/** Roles of a candidate's jobs by job id (a job without one is ordinary). */
export type Roles = ReadonlyMap<number, JobRole>

/** Whether a key's attestations count now (its standing, rules/verifier-trust.ts `counts`). */
export type Counts = (verifier: string) => boolean

/** A candidate's current round, as a verifier asking for a job finds it. */
export interface RoundFacts {
  /** The candidate's submitter, and every member's of a merge group: none verifies its own candidate. */
  authors: string[]
  /** The round's jobs that have not expired. */
  jobs: RoundJob[]
  roles: Roles
  counts: Counts
}

/** A round's jobs that count: not shadow jobs, not expired, by keys that count now. */
export function countingJobs<J extends RoundJob> (jobs: J[], roles: Roles, counts: Counts): J[] {
  return jobs.filter((j) => j.state !== 'expired' && roles.get(j.id) !== 'shadow' && counts(j.verifier))
}

/** Attestations that decide: not from shadow jobs, by keys that count now. */
export function countingAttestations<A extends { job_id: number, verifier: string }> (attestations: A[], roles: Roles, counts: Counts): A[] {
  return attestations.filter((a) => roles.get(a.job_id) !== 'shadow' && counts(a.verifier))
}

/** Counting attestations a round needs: the quorum, and one more while a spot check in it stands. */
export function required (quorum: number, counting: RoundJob[], roles: Roles): number {
  return quorum + (spotChecked(counting, roles) ? 1 : 0)
}

const spotChecked = (jobs: RoundJob[], roles: Roles): boolean => jobs.some((j) => roles.get(j.id) === 'spot-check')

/** Whether a verifier takes part in the round already, or submitted the candidate: then it gets no job on it. */
const excluded = (round: RoundFacts, verifier: string): boolean =>
  round.authors.includes(verifier) || round.jobs.some((j) => j.verifier === verifier)

/** Whether a counting verifier may get a job in this round: never its own candidate, never twice in a round, only while the round is short of its quorum. */
export function openForCounting (round: RoundFacts, verifier: string, quorum: number): boolean {
  if (excluded(round, verifier)) return false
  const counting = countingJobs(round.jobs, round.roles, round.counts)
  return counting.length < required(quorum, counting, round.roles)
}

/** Whether the round has all the jobs it needs once a new counting job (a spot check or not) joins it: the candidate then moves to `verifying`. */
export function fullWith (round: RoundFacts, quorum: number, spotCheck: boolean): boolean {
  const counting = countingJobs(round.jobs, round.roles, round.counts)
  return counting.length + 1 >= quorum + (spotCheck || spotChecked(counting, round.roles) ? 1 : 0)
}

/**
 * Whether a key on probation may get a shadow job in this round (not its own candidate, not
 * twice, at most `shadowsPerRound` shadows), and whether a counting verifier is on it already
 * (such rounds are picked first, so the shadow has something to be compared with).
 */
export function shadowSlot (round: RoundFacts, verifier: string, shadowsPerRound: number): { alongside: boolean } | null {
  if (excluded(round, verifier)) return null
  if (round.jobs.filter((j) => round.roles.get(j.id) === 'shadow').length >= shadowsPerRound) return null
  return { alongside: countingJobs(round.jobs, round.roles, round.counts).length > 0 }
}

/** The shadow job to hand out: the first candidate (in queue order) a counting verifier is on, else the first open one. */
export function pickShadow<T extends { alongside: boolean }> (options: T[]): T | undefined {
  return options.find((o) => o.alongside) ?? options[0]
}

/** Where a round stands after an attestation: complete, or waiting (and whether a counting job is still leased; if not, the candidate goes back to the queue). */
export type Tally = { complete: true } | { complete: false, leased: boolean, reason: string }

/** `attested`: the round's counting attestations; `jobs`: all of the round's jobs. */
export function tally (attested: number, jobs: RoundJob[], roles: Roles, counts: Counts, quorum: number, round: number): Tally {
  const counting = countingJobs(jobs, roles, counts)
  const needed = required(quorum, counting, roles)
  if (attested >= needed) return { complete: true }
  return { complete: false, leased: counting.some((j) => j.state === 'leased'), reason: `${attested} of ${needed} attestations in round ${round}` }
}
