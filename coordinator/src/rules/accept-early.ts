import type { Manifest } from '@autoresearch/protocol'
import type { JobRole } from '../store/index.ts'

/**
 * Whether a job may end early with an acceptance (protocol's `acceptEarly`): the cause
 * declares `sequential.accept`, one allowlisted verifier decides (quorum 1, no split rounds,
 * so no other verifier's pairs are pooled with these), and the job is the whole first round
 * of a counting verifier. Later rounds follow a near-tie and pool every round's pairs, and a
 * shadow or spot-check job is there to be compared whole; both keep their full rounds.
 */
export function mayAcceptEarly (mode: 'allowlist' | 'open', verification: Pick<Manifest['verification'], 'sequential' | 'quorum' | 'splitRounds'>, job: { round: number, role: JobRole | undefined }): boolean {
  return verification.sequential?.accept !== undefined && mode === 'allowlist' && verification.quorum === 1 &&
    !verification.splitRounds && job.round === 1 && job.role === undefined
}
