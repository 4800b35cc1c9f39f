import {
  assertSignature, improvement, LeaseExpiredError, NotAuthorizedError, UnknownJobError, WrongCauseError, InvalidMessageError,
  type AttestationBody, type Job, type LeaseRequestBody, type Manifest, type Trial, type Verdict
} from '@autoresearch/protocol'
import { assertFresh } from './intake.ts'
import { pairedOneSidedTest, type PairedTest } from './stats.ts'
import type { CandidateRow, Store } from './store.ts'

export interface VerificationContext {
  causeId: string
  manifest: Manifest
  store: Store
  verifiers: Set<string>
  leaseMs: number
  bestCommit: () => string
}

export interface StoredVerdict extends Verdict {
  seeds: number[]
  trials: Array<Trial & { verifier: string }>
  test: PairedTest | null
  baselineMetric: number | null
  candidateMetric: number | null
}

function assertVerifier (ctx: VerificationContext, publicKey: string): void {
  if (!ctx.verifiers.has(publicKey)) throw new NotAuthorizedError(`key ${publicKey.slice(0, 16)}… is not on this coordinator's verifier allowlist`)
}

/**
 * Hands the verifier the most promising candidate it may verify: queued, not its
 * own, needing more attestations than it has. Candidates whose parent is no longer
 * the best are marked stale first (re-basing them is a later step).
 */
export function lease (ctx: VerificationContext, body: LeaseRequestBody, signature: string): { job: Job | null, stale: CandidateRow[] } {
  if (body.causeId !== ctx.causeId) throw new WrongCauseError(`this coordinator hosts ${ctx.causeId}, not ${body.causeId}`)
  assertFresh(body.time)
  assertSignature('lease-request', body, signature, body.publicKey)
  assertVerifier(ctx, body.publicKey)
  const { store, manifest } = ctx
  const now = Date.now()
  return store.transaction(() => {
    store.expireLeases(now)
    const best = ctx.bestCommit()
    const stale: CandidateRow[] = []
    const queued = store.db.prepare("SELECT * FROM candidates WHERE state = 'queued' ORDER BY seq").all() as CandidateRow[]
    const sign = manifest.metric.direction === 'minimize' ? 1 : -1
    queued.sort((a, b) => sign * (a.claimed_metric - b.claimed_metric) || a.seq - b.seq)
    for (const candidate of queued) {
      if (candidate.parent_oid !== best) {
        store.setCandidateState(candidate.seq, 'stale', `its parent ${candidate.parent_oid.slice(0, 10)} is no longer the best (${best.slice(0, 10)}); rebase onto the new best and submit again`)
        stale.push(candidate)
        continue
      }
      if (candidate.submitter === body.publicKey) continue
      const jobs = store.jobsFor(candidate.seq)
      if (jobs.some((j) => j.verifier === body.publicKey && j.state !== 'expired')) continue
      const active = jobs.filter((j) => j.state !== 'expired').length
      if (active >= manifest.verification.quorum) continue
      const seeds = JSON.parse(candidate.seeds) as number[]
      const leaseExpiresAt = now + ctx.leaseMs
      const jobId = store.insertJob({ candidate_seq: candidate.seq, baseline_oid: best, seeds: candidate.seeds, verifier: body.publicKey, leased_at: now, lease_expires_at: leaseExpiresAt, state: 'leased' })
      if (active + 1 >= manifest.verification.quorum) store.setCandidateState(candidate.seq, 'verifying')
      return { job: { jobId, candidateSeq: candidate.seq, baseline: best, candidate: candidate.commit_oid, seeds, leaseExpiresAt }, stale }
    }
    return { job: null, stale }
  })
}

export interface AttestOutcome {
  verdict: StoredVerdict
  /** Set when the candidate passed and became the best; the caller moves the git ref. */
  merged?: { candidate: CandidateRow, mergeSeq: number, metric: number, baselineMetric: number }
}

/** Records an attestation and, once a quorum has attested, decides the candidate. */
export function attest (ctx: VerificationContext, body: AttestationBody, signature: string): AttestOutcome {
  if (body.causeId !== ctx.causeId) throw new WrongCauseError(`this coordinator hosts ${ctx.causeId}, not ${body.causeId}`)
  assertFresh(body.time)
  assertSignature('attestation', body, signature, body.publicKey)
  assertVerifier(ctx, body.publicKey)
  const { store } = ctx
  return store.transaction(() => {
    const job = store.job(body.jobId)
    if (job === undefined || job.verifier !== body.publicKey) throw new UnknownJobError(`job ${body.jobId} was not leased to this verifier`)
    if (job.state === 'done') throw new UnknownJobError(`job ${body.jobId} was already attested`)
    if (job.state === 'expired' || job.lease_expires_at < Date.now()) {
      throw new LeaseExpiredError(`the lease on job ${body.jobId} ended at ${new Date(job.lease_expires_at).toISOString()}; the job was re-issued`)
    }
    const candidate = store.candidate(job.candidate_seq) as CandidateRow
    const seeds = JSON.parse(job.seeds) as number[]
    if (body.candidate !== candidate.commit_oid || body.baseline !== job.baseline_oid) throw new InvalidMessageError('attestation names other commits than its job')
    if (body.trials.length !== seeds.length || body.trials.some((t, i) => t.seed !== seeds[i])) throw new InvalidMessageError(`attestation must report one trial per job seed, in order: ${seeds.join(', ')}`)

    store.db.prepare('INSERT INTO attestations (job_id, candidate_seq, verifier, body, signature, received_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(job.id, candidate.seq, body.publicKey, JSON.stringify(body), signature, Date.now())
    store.db.prepare("UPDATE jobs SET state = 'done' WHERE id = ?").run(job.id)

    const attestations = store.attestationsFor(candidate.seq)
    if (attestations.length < ctx.manifest.verification.quorum) {
      const verdict = pendingVerdict(candidate, seeds, attestations.length, ctx.manifest.verification.quorum)
      return { verdict }
    }
    return decide(ctx, candidate, seeds, attestations.map((a) => JSON.parse(a.body) as AttestationBody))
  })
}

function pendingVerdict (candidate: CandidateRow, seeds: number[], have: number, need: number): StoredVerdict {
  return { candidateSeq: candidate.seq, state: 'pending', meanImprovement: null, reason: `${have} of ${need} attestations`, seeds, trials: [], test: null, baselineMetric: null, candidateMetric: null }
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length

function decide (ctx: VerificationContext, candidate: CandidateRow, seeds: number[], attestations: AttestationBody[]): AttestOutcome {
  const { manifest, store } = ctx
  const trials = attestations.flatMap((a) => a.trials.map((t) => ({ ...t, verifier: a.publicKey })))
  const failed = trials.filter((t) => t.candidate === null || t.baseline === null)
  const complete = trials.filter((t) => t.candidate !== null && t.baseline !== null) as Array<Trial & { verifier: string, baseline: number, candidate: number }>
  const improvements = complete.map((t) => improvement(manifest, t.baseline, t.candidate))
  const { minImprovement, confidence } = manifest.verification
  const test = pairedOneSidedTest(improvements, minImprovement, confidence)
  const baselineMetric = complete.length > 0 ? mean(complete.map((t) => t.baseline)) : null
  const candidateMetric = complete.length > 0 ? mean(complete.map((t) => t.candidate)) : null
  const base = { candidateSeq: candidate.seq, seeds, trials, test, baselineMetric, candidateMetric, meanImprovement: complete.length > 0 ? test.mean : null }

  let verdict: StoredVerdict
  if (failed.length > 0) {
    verdict = { ...base, state: 'rejected', reason: `${failed.length} trial(s) produced no metric: ${failed.map((t) => t.failure ?? 'unknown').join('; ').slice(0, 500)}` }
  } else if (!test.passed) {
    verdict = { ...base, state: 'rejected', reason: `mean improvement ${test.mean.toPrecision(4)} over ${test.n} paired trials does not beat minImprovement ${minImprovement} at confidence ${confidence} (p=${test.pValue.toPrecision(3)})` }
  } else {
    verdict = { ...base, state: 'accepted', reason: `mean improvement ${test.mean.toPrecision(4)} over ${test.n} paired trials beats minImprovement ${minImprovement} (p=${test.pValue.toPrecision(3)})` }
  }
  if (verdict.state === 'rejected') {
    store.setCandidateState(candidate.seq, 'rejected', verdict.reason, verdict)
    return { verdict }
  }
  if (candidate.parent_oid !== ctx.bestCommit()) {
    verdict = { ...verdict, state: 'rejected', reason: `passed verification, but its parent is no longer the best; rebase and submit again (${verdict.reason})` }
    store.setCandidateState(candidate.seq, 'stale', verdict.reason, verdict)
    return { verdict }
  }
  // The merge row is written in the same transaction as the deciding attestation;
  // the git ref follows the database (Coordinator.recover re-points it after a crash).
  const mergeSeq = store.insertMerge({ commit_oid: candidate.commit_oid, parent_oid: candidate.parent_oid, candidate_seq: candidate.seq, metric: candidateMetric, baseline_metric: baselineMetric, merged_at: Date.now() })
  store.setCandidateState(candidate.seq, 'merged', null, verdict)
  return { verdict, merged: { candidate, mergeSeq, metric: candidateMetric as number, baselineMetric: baselineMetric as number } }
}
