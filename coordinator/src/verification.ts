import {
  assertSignature, improvement, InvalidMessageError, LeaseExpiredError, NotAuthorizedError, UnknownJobError, WrongCauseError,
  type AttestationBody, type Job, type LeaseRequestBody, type Manifest, type Trial, type Verdict
} from '@autoresearch/protocol'
import { assertFresh } from './intake.ts'
import { MAX_ROUNDS, VERIFIER_REPUTATION_FLOOR, verifierReputation } from './policy.ts'
import { drawRound } from './seeds.ts'
import { pairedOneSidedTest, type PairedTest } from './stats.ts'
import type { CandidateRow, Store } from './store.ts'

export interface VerificationContext {
  causeId: string
  manifest: Manifest
  store: Store
  /** `allowlist`: only listed keys verify. `open`: any key not banned whose reputation stays above the floor. */
  verifierMode: 'allowlist' | 'open'
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
  rounds: number
  claimContradicted: boolean
  disagreeing: string[]
}

/** Whether this key's attestations count now (allowlisted, or reputable in open mode). */
function counts (ctx: VerificationContext, publicKey: string): boolean {
  if (ctx.verifierMode === 'allowlist') return ctx.verifiers.has(publicKey)
  const identity = ctx.store.identity(publicKey)
  return identity.banned === 0 && verifierReputation(identity) > VERIFIER_REPUTATION_FLOOR
}

function assertVerifier (ctx: VerificationContext, publicKey: string): void {
  if (counts(ctx, publicKey)) return
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

/**
 * Hands the verifier the most promising queued candidate on the current best that
 * it may verify: never its own, never twice in one round.
 */
export function lease (ctx: VerificationContext, body: LeaseRequestBody, signature: string): Job | null {
  assertRequest(ctx, body, 'lease-request', signature)
  const { store, manifest } = ctx
  const now = Date.now()
  return store.transaction(() => {
    store.expireLeases(now)
    const best = ctx.bestCommit()
    const queued = queueOrder(manifest, store.db.prepare("SELECT * FROM candidates WHERE state = 'queued' AND parent_oid = ?").all(best) as CandidateRow[])
    for (const candidate of queued) {
      if (candidate.submitter === body.publicKey) continue
      const round = candidate.rounds
      const active = store.jobsFor(candidate.seq).filter((j) => j.round === round && j.state !== 'expired')
      if (active.some((j) => j.verifier === body.publicKey)) continue
      if (active.length >= manifest.verification.quorum) continue
      const seeds = roundsOf(candidate)[round - 1] as number[]
      const leaseExpiresAt = now + ctx.leaseMs
      const jobId = store.insertJob({ candidate_seq: candidate.seq, baseline_oid: best, seeds: JSON.stringify(seeds), verifier: body.publicKey, leased_at: now, lease_expires_at: leaseExpiresAt, state: 'leased', round })
      if (active.length + 1 >= manifest.verification.quorum) store.setCandidateState(candidate.seq, 'verifying')
      return { jobId, candidateSeq: candidate.seq, baseline: best, candidate: candidate.commit_oid, seeds, leaseExpiresAt }
    }
    return null
  })
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

    const attestations = store.attestationsFor(candidate.seq).filter((a) => counts(ctx, a.verifier))
    const inRound = attestations.filter((a) => a.round === candidate.rounds)
    if (inRound.length < manifest.verification.quorum) {
      const open = store.jobsFor(candidate.seq).some((j) => j.round === candidate.rounds && j.state === 'leased')
      if (!open) store.setCandidateState(candidate.seq, 'queued')
      return { verdict: { ...emptyVerdict(candidate), reason: `${inRound.length} of ${manifest.verification.quorum} attestations in round ${candidate.rounds}` } }
    }
    return decide(ctx, candidate, attestations.map((a) => JSON.parse(a.body) as AttestationBody))
  })
}

function emptyVerdict (candidate: CandidateRow): StoredVerdict {
  return { candidateSeq: candidate.seq, state: 'pending', meanImprovement: null, reason: '', seeds: roundsOf(candidate).flat(), trials: [], test: null, baselineMetric: null, candidateMetric: null, rounds: candidate.rounds, claimContradicted: false, disagreeing: [] }
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length

type CompleteTrial = Trial & { verifier: string, baseline: number, candidate: number }

/**
 * Spread of the gains around each verifier's own mean, pooled over verifiers. The
 * spread of all gains together is the wrong yardstick for comparing verifiers: a
 * liar that scatters its invented gains widens it until its gap to an honest
 * verifier looks like noise (B6).
 */
function withinVerifierSd (gainsBy: Map<string, number[]>): number | undefined {
  let squares = 0
  let dof = 0
  for (const gains of gainsBy.values()) {
    const m = mean(gains)
    squares += gains.reduce((a, g) => a + (g - m) ** 2, 0)
    dof += gains.length - 1
  }
  return dof > 0 ? Math.sqrt(squares / dof) : undefined
}

/**
 * Verifiers whose own mean improvement is far from the median verifier's. With two
 * verifiers there is no median to trust: a gap between them is a split (another
 * verifier is asked) and nobody is blamed yet.
 */
function disagreeing (ctx: VerificationContext, trials: CompleteTrial[], pooledSd: number): { split: boolean, outliers: string[] } {
  const verifiers = [...new Set(trials.map((t) => t.verifier))]
  if (verifiers.length < 2) return { split: false, outliers: [] }
  const gainsBy = new Map(verifiers.map((v) => [v, trials.filter((t) => t.verifier === v).map((t) => improvement(ctx.manifest, t.baseline, t.candidate))]))
  const gains = new Map([...gainsBy].map(([v, g]) => [v, mean(g)]))
  const sd = withinVerifierSd(gainsBy) ?? pooledSd
  const perVerifier = Math.max(1, Math.min(...verifiers.map((v) => trials.filter((t) => t.verifier === v).length)))
  const tolerance = Math.max(2 * ctx.manifest.verification.minImprovement, 4 * sd / Math.sqrt(perVerifier))
  const sorted = [...gains.values()].sort((a, b) => a - b)
  if (verifiers.length === 2) return { split: Math.abs((sorted[1] as number) - (sorted[0] as number)) > tolerance, outliers: [] }
  const median = sorted[Math.floor(sorted.length / 2)] as number
  const outliers = verifiers.filter((v) => Math.abs((gains.get(v) as number) - median) > tolerance)
  return { split: outliers.length > 0, outliers }
}

/**
 * A candidate that ignores the trial seed (a constant "lucky" seed) gives one value
 * for every seed while the baseline varies: its gain is a property of that seed, not
 * of the change. Exact equality is the test, so causes whose runs are not bit-for-bit
 * deterministic (GPU kernels) are not flagged by this rule.
 */
function ignoresSeed (trials: CompleteTrial[]): boolean {
  const seeds = new Set(trials.map((t) => t.seed))
  if (seeds.size < 3) return false
  const candidates = new Set(trials.map((t) => t.candidate))
  const baselines = new Set(trials.map((t) => t.baseline))
  return candidates.size === 1 && baselines.size > 1
}

function decide (ctx: VerificationContext, candidate: CandidateRow, attestations: AttestationBody[]): AttestOutcome {
  const { manifest, store } = ctx
  const { minImprovement, confidence } = manifest.verification
  const trials = attestations.flatMap((a) => a.trials.map((t) => ({ ...t, verifier: a.publicKey })))
  const failed = trials.filter((t) => t.candidate === null || t.baseline === null)
  const measured = trials.filter((t): t is CompleteTrial => t.candidate !== null && t.baseline !== null)
  const gains = (ts: CompleteTrial[]): number[] => ts.map((t) => improvement(manifest, t.baseline, t.candidate))
  const { split, outliers } = disagreeing(ctx, measured, pairedOneSidedTest(gains(measured), minImprovement, confidence).sd)
  // An outlier verifier's trials do not decide the candidate.
  const complete = measured.filter((t) => !outliers.includes(t.verifier))
  const test = pairedOneSidedTest(gains(complete), minImprovement, confidence)
  const baselineMetric = complete.length > 0 ? mean(complete.map((t) => t.baseline)) : null
  const candidateMetric = complete.length > 0 ? mean(complete.map((t) => t.candidate)) : null
  const base: StoredVerdict = {
    ...emptyVerdict(candidate), trials, test, baselineMetric, candidateMetric, meanImprovement: complete.length > 0 ? test.mean : null, disagreeing: outliers
  }
  const seedInsensitive = ignoresSeed(complete)
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

  let verdict: StoredVerdict
  if (failed.length > 0) {
    verdict = { ...base, state: 'rejected', reason: `${failed.length} trial(s) produced no metric: ${failed.map((t) => t.failure ?? 'unknown').join('; ').slice(0, 500)}` }
  } else if (twoWaySplit) {
    // Still two camps after the last round and no majority to tell which one lies: never merge on that.
    verdict = { ...base, state: 'rejected', reason: `verifiers still disagree after ${candidate.rounds} rounds and no third measurement settled it` }
  } else if (seedInsensitive) {
    verdict = { ...base, state: 'rejected', reason: `the candidate gives the same ${manifest.metric.name} for ${new Set(complete.map((t) => t.seed)).size} different seeds while the baseline does not: it ignores AUTORESEARCH_SEED (a fixed lucky seed is not an improvement)` }
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
