/**
 * Who may verify, and whose attestations count (BOINC's adaptive replication). Keys are
 * free, so in open mode a new key's attestations count only after it agreed with trusted
 * verifiers on a run of jobs; until then its jobs are shadow jobs. A disagreement ends the
 * run, and trusted keys are spot-checked at a rate that falls as their run grows.
 */
import type { Counts, Roles } from './quorum.ts'

export interface TrustPolicy {
  /** Agreements in a row with trusted verifiers after which a key's attestations count. */
  agreementsToTrust: number
  /** The lowest rate at which a trusted (not allowlisted) key's jobs are spot-checked. */
  spotCheckFloor: number
}

/**
 * `root`: on the operator's allowlist, the trust root. `trusted`: earned in open mode.
 * `probation`: open mode, not yet trusted: shadow jobs only. `barred`: refused.
 */
export type VerifierStanding = 'root' | 'trusted' | 'probation' | 'barred'

export interface VerifierFacts {
  mode: 'allowlist' | 'open'
  allowlisted: boolean
  banned: boolean
  /** Reputation among counting verifiers (outvoted ones lose it); at or below `floor` a key is refused. */
  reputation: number
  floor: number
  /** Its agreements with trusted verifiers since its last disagreement (Store.agreementRun). */
  run: number
}

export function verifierStanding (f: VerifierFacts, policy: TrustPolicy): VerifierStanding {
  if (f.mode === 'allowlist') return f.allowlisted ? 'root' : 'barred'
  if (f.banned || f.reputation <= f.floor) return 'barred'
  if (f.allowlisted) return 'root'
  return f.run >= policy.agreementsToTrust ? 'trusted' : 'probation'
}

/** Whether this standing's attestations count toward quorum and decide. */
export const counts = (s: VerifierStanding): boolean => s === 'root' || s === 'trusted'

/** Share of a trusted key's jobs that are spot-checked: all of them at first, falling to the floor. */
export function spotCheckRate (run: number, policy: TrustPolicy): number {
  return Math.min(1, Math.max(policy.spotCheckFloor, policy.agreementsToTrust / Math.max(1, run)))
}

/** Whether a job leased now is a spot check; `draw` is uniform in [0, 1). Root keys are the yardstick, never checked. */
export function isSpotCheck (standing: VerifierStanding, run: number, policy: TrustPolicy, draw: number): boolean {
  return standing === 'trusted' && draw < spotCheckRate(run, policy)
}

/** An attestation as the checking rules see it (a stored attestation has it). */
export interface CheckedAttestation {
  job_id: number
  verifier: string
}

/** Whether an attestation is under check and not judged yet: a shadow job's or a spot check's. */
export function awaitsCheck (a: CheckedAttestation, roles: Roles, judged: ReadonlySet<number>): boolean {
  return roles.get(a.job_id) !== undefined && !judged.has(a.job_id)
}

/** What a checked attestation is compared with: the same round's attestations by other keys that count, from jobs that are not shadows (none yet: judge later). */
export function referencesFor<A extends CheckedAttestation> (subject: A, inRound: A[], roles: Roles, counts: Counts): A[] {
  return inRound.filter((a) => a.verifier !== subject.verifier && roles.get(a.job_id) !== 'shadow' && counts(a.verifier))
}
