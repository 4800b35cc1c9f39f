import {
  assertSignature, improvement, InvalidMessageError, LeaseExpiredError, NotAuthorizedError, UnknownJobError, WrongCauseError,
  type AttestationBody, type Job, type LeaseRequestBody, type Manifest, type Trial, type Verdict
} from '@autoresearch/protocol'
import { randomInt } from 'node:crypto'
import { assertFresh } from './intake.ts'
import { MAX_ROUNDS, OPEN_VERIFICATION } from './policy.ts'
import { disagreeing } from './rules/agreement.ts'
import { seedSpread, type SeedSpread } from './rules/seed-insensitivity.ts'
import { isSpotCheck } from './rules/verifier-trust.ts'
import { drawRound } from './seeds.ts'
import { mean, pairedOneSidedTest, type PairedTest } from './stats.ts'
import type { CandidateRow, JobRow, JobRole, Store } from './store.ts'
import { countsNow, judgeRound, recordOutliers, standingOf, trustPolicy, type TrustContext } from './verifier-trust.ts'

/**
 * `verifierMode` `allowlist`: only listed keys verify. `open`: any key not banned whose
 * reputation stays above the floor, but a new key's jobs are shadow jobs until it has
 * agreed with trusted verifiers (the allowlist is the trust root) on a run of jobs.
 */
export interface VerificationContext extends TrustContext {
  causeId: string
  leaseMs: number
  bestCommit: () => string
}

export interface StoredVerdict extends Verdict {
  seeds: number[]
  trials: Array<Trial & { verifier: string }>
  test: PairedTest | null
  baselineMetric: number | null
  candidateMetric: number | null
  rounds: number
  claimContradicted: boolean
  disagreeing: string[]
  /** Candidate against baseline spread across seeds (null before any complete trial). */
  seedSpread?: SeedSpread | null
}

function assertVerifier (ctx: VerificationContext, publicKey: string): void {
  if (standingOf(ctx, publicKey).standing !== 'barred') return
  throw new NotAuthorizedError(ctx.verifierMode === 'allowlist'
    ? `key ${publicKey.slice(0, 16)}… is not on this coordinator's verifier allowlist`
    : `verifier ${publicKey.slice(0, 16)}… is banned or its measurements disagreed with other verifiers too often`)
}

function assertRequest (ctx: VerificationContext, body: { causeId: string, time: number, publicKey: string }, domain: 'lease-request' | 'attestation', signature: string): void {
  if (body.causeId !== ctx.causeId) throw new WrongCauseError(`this coordinator hosts ${ctx.causeId}, not ${body.causeId}`)
  assertFresh(body.time)
  assertSignature(domain, body, signature, body.publicKey)
  assertVerifier(ctx, body.publicKey)
}

/**
 * Queue order: the best claim first, but a candidate displaces an earlier one only
 * when its claim is better by more than `epsilon` (the cause's minImprovement), so
 * shaving a hair off a pending claim never jumps the queue.
 */
export function queueOrder (manifest: Manifest, candidates: CandidateRow[]): CandidateRow[] {
  const epsilon = manifest.verification.minImprovement
  const better = (a: CandidateRow, b: CandidateRow): boolean => improvement(manifest, b.claimed_metric, a.claimed_metric) > epsilon
  const rest = [...candidates].sort((a, b) => a.seq - b.seq)
  const ordered: CandidateRow[] = []
  while (rest.length > 0) {
    let pick = 0
    for (let i = 1; i < rest.length; i++) if (better(rest[i] as CandidateRow, rest[pick] as CandidateRow)) pick = i
    ordered.push(...rest.splice(pick, 1))
  }
  return ordered
}

const roundsOf = (c: CandidateRow): number[][] => JSON.parse(c.seeds) as number[][]

/** A round's jobs that count: not shadow jobs, not expired, by keys that count now. */
function countingJobs (ctx: VerificationContext, jobs: JobRow[], roles: Map<number, JobRole>): JobRow[] {
  return jobs.filter((j) => j.state !== 'expired' && roles.get(j.id) !== 'shadow' && countsNow(ctx, j.verifier))
}

/** Counting attestations a round needs: the quorum, and one more while a spot check in it stands. */
function required (ctx: VerificationContext, counting: JobRow[], roles: Map<number, JobRole>): number {
  return ctx.manifest.verification.quorum + (counting.some((j) => roles.get(j.id) === 'spot-check') ? 1 : 0)
}

/**
 * Hands the verifier the most promising queued candidate on the current best that
 * it may verify: never its own, never twice in one round. A key on probation gets a
 * shadow job instead.
 */
export function lease (ctx: VerificationContext, body: LeaseRequestBody, signature: string): Job | null {
  assertRequest(ctx, body, 'lease-request', signature)
  const { store, manifest } = ctx
  const now = Date.now()
  const { standing, run } = standingOf(ctx, body.publicKey)
  return store.transaction(() => {
    store.expireLeases(now)
    const best = ctx.bestCommit()
    if (standing === 'probation') return leaseShadow(ctx, body.publicKey, best, now)
    const queued = queueOrder(manifest, store.db.prepare("SELECT * FROM candidates WHERE state = 'queued' AND parent_oid = ?").all(best) as CandidateRow[])
    for (const candidate of queued) {
      if (candidate.submitter === body.publicKey) continue
      const round = candidate.rounds
      const roles = store.jobRoles(candidate.seq)
      const active = store.jobsFor(candidate.seq).filter((j) => j.round === round && j.state !== 'expired')
      if (active.some((j) => j.verifier === body.publicKey)) continue
      const counting = countingJobs(ctx, active, roles)
      if (counting.length >= required(ctx, counting, roles)) continue
      const spotCheck = isSpotCheck(standing, run, trustPolicy(ctx), draw())
      const job = issue(ctx, candidate, best, body.publicKey, now, spotCheck ? 'spot-check' : undefined)
      const after = required(ctx, [...counting, { ...job.row }], spotCheck ? new Map([...roles, [job.row.id, 'spot-check']]) : roles)
      if (counting.length + 1 >= after) store.setCandidateState(candidate.seq, 'verifying')
      return job.job
    }
    return null
  })
}

/** Uniform in [0, 1), from the CSPRNG: a verifier must not predict which of its jobs are checked. */
const draw = (): number => randomInt(0, 2 ** 47) / 2 ** 47

function issue (ctx: VerificationContext, candidate: CandidateRow, best: string, verifier: string, now: number, role: JobRole | undefined): { job: Job, row: JobRow } {
  const round = candidate.rounds
  const seeds = roundsOf(candidate)[round - 1] as number[]
  const row = { candidate_seq: candidate.seq, baseline_oid: best, seeds: JSON.stringify(seeds), verifier, leased_at: now, lease_expires_at: now + ctx.leaseMs, state: 'leased' as const, round }
  const jobId = ctx.store.insertJob(row)
  if (role !== undefined) ctx.store.setJobRole(jobId, role)
  return { job: { jobId, candidateSeq: candidate.seq, baseline: best, candidate: candidate.commit_oid, seeds, leaseExpiresAt: row.lease_expires_at }, row: { ...row, id: jobId } }
}

/**
 * A job for a key on probation: the same candidate and seeds as a counting verifier's
 * (candidates a counting verifier is already on first), so the two can be compared; it
 * never counts toward quorum and never moves the candidate's state.
 */
function leaseShadow (ctx: VerificationContext, verifier: string, best: string, now: number): Job | null {
  const { store, manifest } = ctx
  const open = queueOrder(manifest, store.db.prepare("SELECT * FROM candidates WHERE state IN ('queued', 'verifying') AND parent_oid = ?").all(best) as CandidateRow[])
  const options = open.flatMap((candidate) => {
    if (candidate.submitter === verifier) return []
    const roles = store.jobRoles(candidate.seq)
    const active = store.jobsFor(candidate.seq).filter((j) => j.round === candidate.rounds && j.state !== 'expired')
    if (active.some((j) => j.verifier === verifier)) return []
    if (active.filter((j) => roles.get(j.id) === 'shadow').length >= OPEN_VERIFICATION.shadowsPerRound) return []
    return [{ candidate, alongside: countingJobs(ctx, active, roles).length > 0 }]
  })
  const pick = options.find((o) => o.alongside) ?? options[0]
  return pick === undefined ? null : issue(ctx, pick.candidate, best, verifier, now, 'shadow').job
}

export interface AttestOutcome {
  verdict: StoredVerdict
  /** Set when the candidate passed and became the best; the caller moves the git ref. */
  merged?: { candidate: CandidateRow, mergeSeq: number, metric: number, baselineMetric: number }
  /** Set when the candidate passed against a best that has since moved: the caller rebases it. */
  passedOnStaleParent?: CandidateRow
}

/** Records an attestation and, once the round has its quorum, decides or asks for another round. */
export function attest (ctx: VerificationContext, body: AttestationBody, signature: string): AttestOutcome {
  assertRequest(ctx, body, 'attestation', signature)
  const { store, manifest } = ctx
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
    if (ctx.verifierMode === 'open') judgeRound(ctx, candidate.seq, job.round)

    const roles = store.jobRoles(candidate.seq)
    if (roles.get(job.id) === 'shadow') {
      return { verdict: { ...emptyVerdict(candidate), reason: `recorded as a shadow job: a new verifier's attestations count after it agreed with trusted verifiers ${trustPolicy(ctx).agreementsToTrust} times in a row` } }
    }
    // A spot check whose key was demoted meanwhile may arrive after the decision.
    if (candidate.state !== 'queued' && candidate.state !== 'verifying') return { verdict: { ...emptyVerdict(candidate), reason: `recorded after the decision (${candidate.state})` } }
    const attestations = store.attestationsFor(candidate.seq).filter((a) => roles.get(a.job_id) !== 'shadow' && countsNow(ctx, a.verifier))
    const inRound = attestations.filter((a) => a.round === candidate.rounds)
    const jobs = store.jobsFor(candidate.seq).filter((j) => j.round === candidate.rounds)
    const needed = required(ctx, countingJobs(ctx, jobs, roles), roles)
    if (inRound.length < needed) {
      const open = countingJobs(ctx, jobs, roles).some((j) => j.state === 'leased')
      if (!open) store.setCandidateState(candidate.seq, 'queued')
      return { verdict: { ...emptyVerdict(candidate), reason: `${inRound.length} of ${needed} attestations in round ${candidate.rounds}` } }
    }
    return decide(ctx, candidate, attestations.map((a) => JSON.parse(a.body) as AttestationBody))
  })
}

function emptyVerdict (candidate: CandidateRow): StoredVerdict {
  return { candidateSeq: candidate.seq, state: 'pending', meanImprovement: null, reason: '', seeds: roundsOf(candidate).flat(), trials: [], test: null, baselineMetric: null, candidateMetric: null, rounds: candidate.rounds, claimContradicted: false, disagreeing: [] }
}


type CompleteTrial = Trial & { verifier: string, baseline: number, candidate: number }

function decide (ctx: VerificationContext, candidate: CandidateRow, attestations: AttestationBody[]): AttestOutcome {
  const { manifest, store } = ctx
  const { minImprovement, confidence } = manifest.verification
  const trials = attestations.flatMap((a) => a.trials.map((t) => ({ ...t, verifier: a.publicKey })))
  const failed = trials.filter((t) => t.candidate === null || t.baseline === null)
  const measured = trials.filter((t): t is CompleteTrial => t.candidate !== null && t.baseline !== null)
  const gains = (ts: CompleteTrial[]): number[] => ts.map((t) => improvement(manifest, t.baseline, t.candidate))
  const gainsBy = new Map<string, number[]>()
  for (const t of measured) gainsBy.set(t.verifier, [...(gainsBy.get(t.verifier) ?? []), improvement(manifest, t.baseline, t.candidate)])
  const { split, outliers } = disagreeing(gainsBy, minImprovement, pairedOneSidedTest(gains(measured), minImprovement, confidence).sd)
  // An outlier verifier's trials do not decide the candidate.
  const complete = measured.filter((t) => !outliers.includes(t.verifier))
  const test = pairedOneSidedTest(gains(complete), minImprovement, confidence)
  const baselineMetric = complete.length > 0 ? mean(complete.map((t) => t.baseline)) : null
  const candidateMetric = complete.length > 0 ? mean(complete.map((t) => t.candidate)) : null
  const spread = complete.length > 0 ? seedSpread(complete, manifest.verification.seedInsensitivity) : null
  const base: StoredVerdict = {
    ...emptyVerdict(candidate), trials, test, baselineMetric, candidateMetric, meanImprovement: complete.length > 0 ? test.mean : null, disagreeing: outliers, seedSpread: spread
  }
  const seedInsensitive = spread?.insensitive === true
  const canExtend = candidate.rounds < MAX_ROUNDS && !seedInsensitive

  const twoWaySplit = split && outliers.length === 0
  if (failed.length === 0 && canExtend && (twoWaySplit || (!test.passed && test.mean > minImprovement))) {
    // Two verifiers that disagree, or a near-tie: one more round on fresh seeds, by any verifier.
    const rounds = roundsOf(candidate)
    rounds.push(drawRound(store, candidate.parent_oid, manifest.verification.trials, rounds.flat()))
    store.db.prepare("UPDATE candidates SET seeds = ?, rounds = ?, state = 'queued' WHERE seq = ?").run(JSON.stringify(rounds), rounds.length, candidate.seq)
    const why = twoWaySplit ? 'verifiers disagree' : `near-tie (p=${test.pValue.toPrecision(3)})`
    return { verdict: { ...base, state: 'pending', rounds: rounds.length, reason: `${why}: round ${rounds.length} of at most ${MAX_ROUNDS} on fresh seeds` } }
  }
  // Reputation moves only where others measured the same candidate.
  const verifiers = new Set(measured.map((t) => t.verifier))
  if (verifiers.size >= 3) for (const v of verifiers) store.bumpIdentity(v, outliers.includes(v) ? 'verifier_disagreed' : 'verifier_agreed')
  recordOutliers(ctx, attestations, outliers)

  let verdict: StoredVerdict
  if (failed.length > 0) {
    verdict = { ...base, state: 'rejected', reason: `${failed.length} trial(s) produced no metric: ${failed.map((t) => t.failure ?? 'unknown').join('; ').slice(0, 500)}` }
  } else if (twoWaySplit) {
    // Still two camps after the last round and no majority to tell which one lies: never merge on that.
    verdict = { ...base, state: 'rejected', reason: `verifiers still disagree after ${candidate.rounds} rounds and no third measurement settled it` }
  } else if (seedInsensitive) {
    const { varianceRatio, significance } = manifest.verification.seedInsensitivity
    verdict = { ...base, state: 'rejected', reason: `the candidate's ${manifest.metric.name} barely varies across ${spread?.seeds ?? 0} seeds: its variance is ${(spread?.ratio ?? 0).toPrecision(3)} times the baseline's, below ${varianceRatio} (F test p=${(spread?.pValue ?? 0).toPrecision(3)} < ${significance}); it ignores AUTORESEARCH_SEED (a fixed lucky seed is not an improvement)` }
  } else if (!test.passed) {
    verdict = { ...base, state: 'rejected', reason: `mean improvement ${test.mean.toPrecision(4)} over ${test.n} paired trials does not beat minImprovement ${minImprovement} at confidence ${confidence} (p=${test.pValue.toPrecision(3)})` }
  } else {
    verdict = { ...base, state: 'accepted', reason: `mean improvement ${test.mean.toPrecision(4)} over ${test.n} paired trials beats minImprovement ${minImprovement} (p=${test.pValue.toPrecision(3)})` }
  }

  // A claim far beyond what verification measured costs the submitter (never a coordinator rebase).
  if (candidate.origin_seq === null && baselineMetric !== null) {
    const claimedGain = improvement(manifest, baselineMetric, candidate.claimed_metric)
    const bound = test.mean + 4 * test.sd / Math.sqrt(Math.max(1, test.n)) + 2 * minImprovement
    if (claimedGain > bound) {
      verdict.claimContradicted = true
      verdict.reason += `; claimed gain ${claimedGain.toPrecision(4)} is far beyond the measured ${test.mean.toPrecision(4)}`
      store.bumpIdentity(candidate.submitter, 'contradicted')
    }
  }

  if (verdict.state === 'rejected') {
    store.bumpIdentity(candidate.submitter, 'rejected')
    store.setCandidateState(candidate.seq, 'rejected', verdict.reason, verdict)
    return { verdict }
  }
  if (candidate.parent_oid !== ctx.bestCommit()) {
    verdict = { ...verdict, state: 'pending', reason: `passed against ${candidate.parent_oid.slice(0, 10)}, which is no longer the best: rebasing and verifying again (${verdict.reason})` }
    store.setCandidateState(candidate.seq, 'verifying', null, verdict)
    return { verdict, passedOnStaleParent: candidate }
  }
  // The merge row is written in the same transaction as the deciding attestation;
  // the git ref follows the database (Coordinator.recover re-points it after a crash).
  const mergeSeq = store.insertMerge({ commit_oid: candidate.commit_oid, parent_oid: candidate.parent_oid, candidate_seq: candidate.seq, metric: candidateMetric, baseline_metric: baselineMetric, merged_at: Date.now(), kind: 'merge' })
  store.bumpIdentity(candidate.submitter, 'accepted')
  store.setCandidateState(candidate.seq, 'merged', null, verdict)
  return { verdict, merged: { candidate, mergeSeq, metric: candidateMetric as number, baselineMetric: baselineMetric as number } }
}
