import type { AttestationBody, Manifest } from '@autoresearch/protocol'
import { OPEN_VERIFICATION, VERIFIER_REPUTATION_FLOOR, verifierReputation } from './policy.ts'
import { attestationAgrees, measuredTrials } from './rules/agreement.ts'
import { awaitsCheck, counts, referencesFor, verifierStanding, type TrustPolicy, type VerifierStanding } from './rules/verifier-trust.ts'
import type { Store } from './store/index.ts'

/** What the trust rules need to know about the coordinator. */
export interface TrustContext {
  manifest: Manifest
  store: Pick<Store, 'identity' | 'agreementRun' | 'attestationsFor' | 'jobRoles' | 'checkedJobs' | 'recordCheck'>
  verifierMode: 'allowlist' | 'open'
  /** The operator's allowlist: the only verifiers in allowlist mode, the trust root in open mode. */
  verifiers: Set<string>
  /** Agreements in a row after which an open-mode key counts (config `trustAfterAgreements`). */
  trustAfterAgreements?: number
}

export function trustPolicy (ctx: Pick<TrustContext, 'trustAfterAgreements'>): TrustPolicy {
  return { agreementsToTrust: ctx.trustAfterAgreements ?? OPEN_VERIFICATION.agreementsToTrust, spotCheckFloor: OPEN_VERIFICATION.spotCheckFloor }
}

/** A key's standing; in allowlist mode only the list matters, so nothing is read. */
export function standingOf (ctx: TrustContext, publicKey: string): { standing: VerifierStanding, run: number } {
  const open = ctx.verifierMode === 'open'
  const identity = open ? ctx.store.identity(publicKey) : undefined
  const run = open ? ctx.store.agreementRun(publicKey) : 0
  const standing = verifierStanding({
    mode: ctx.verifierMode, allowlisted: ctx.verifiers.has(publicKey), banned: identity?.banned === 1,
    reputation: identity === undefined ? 0 : verifierReputation(identity), floor: VERIFIER_REPUTATION_FLOOR, run
  }, trustPolicy(ctx))
  return { standing, run }
}

/** Whether this key's attestations count now. */
export const countsNow = (ctx: TrustContext, publicKey: string): boolean => counts(standingOf(ctx, publicKey).standing)

/**
 * Judges each shadow and spot-check attestation of a round not judged yet against the
 * attestations of other keys that count, once there is one: an agreement extends the
 * key's run, a disagreement ends it (and a trusted key is back on probation). Standings
 * are read as each check is recorded, since a check can change the next one's references.
 */
export function judgeRound (ctx: TrustContext, candidateSeq: number, round: number, now = Date.now()): void {
  const { store, manifest } = ctx
  const inRound = store.attestationsFor(candidateSeq).filter((a) => a.round === round)
  const roles = store.jobRoles(candidateSeq)
  const judged = store.checkedJobs(candidateSeq)
  const measured = (a: { body: AttestationBody }): ReturnType<typeof measuredTrials> => measuredTrials(manifest, a.body.trials)
  for (const subject of inRound) {
    if (!awaitsCheck(subject, roles, judged)) continue
    const references = referencesFor(subject, inRound, roles, (v) => countsNow(ctx, v))
    if (references.length === 0) continue
    store.recordCheck(subject.job_id, 'check', subject.verifier, attestationAgrees(measured(subject), references.map(measured), manifest.verification.minImprovement), now)
  }
}

/** An outlier among counting verifiers loses its run as well as reputation. */
export function recordOutliers (ctx: Pick<TrustContext, 'store' | 'verifierMode'>, attestations: AttestationBody[], outliers: string[], now = Date.now()): void {
  if (ctx.verifierMode !== 'open') return
  for (const a of attestations) if (outliers.includes(a.publicKey)) ctx.store.recordCheck(a.jobId, 'outlier', a.publicKey, false, now)
}
