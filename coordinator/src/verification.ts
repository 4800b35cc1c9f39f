/**
 * The lease and attest handlers: they load, call the acceptance rules (coordinator/src/rules/,
 * pure, each with its spec) and store what those decide.
 */
import {
  assertSignature, HardwareClassError, InvalidMessageError, LeaseExpiredError, isOpenState, NotAuthorizedError, stopEarly, UnknownJobError, WrongCauseError,
  type AttestationBody, type EarlyEnd, type Job, type LeaseRequestBody
} from '@autoresearch/protocol'
import { randomInt } from 'node:crypto'
import { authorsOf, inFlightOn, membersOf, paceOf, submissionsIn } from './group-members.ts'
import { assertFresh } from './intake.ts'
import { OPEN_VERIFICATION } from './policy.ts'
import { mayAcceptEarly } from './rules/accept-early.ts'
import { heldBy, waitEnds } from './rules/hold.ts'
import { heldForHolder, type HolderWait } from './rules/holder.ts'
import { leaseClass } from './rules/hardware-class.ts'
import { queueOrder } from './rules/queue-order.ts'
import { begunFirst, helpersOf, openSeeds, partSize, partsTally, splittable } from './rules/parts.ts'
import { countingAttestations, countingJobs, fullWith, openForCounting, pickShadow, shadowSlot, tally, type RoundFacts } from './rules/quorum.ts'
import { decide, notCounted, pendingVerdict, trialsOf, type Decision } from './rules/verdict.ts'
import { trialReport } from './rules/trial-report.ts'
import { counts as standingCounts, isSpotCheck } from './rules/verifier-trust.ts'
import { drawRound, runHolders } from './seeds.ts'
import type { AttestationRow, CandidateRow, JobRole, JobRow, Store, StoredVerdict } from './store/index.ts'
import { countsNow, judgeRound, recordOutliers, standingOf, trustPolicy, type TrustContext } from './verifier-trust.ts'

/**
 * `verifierMode` `allowlist`: only listed keys verify. `open`: any key not banned whose
 * reputation stays above the floor, but a new key's jobs are shadow jobs until it has
 * agreed with trusted verifiers (the allowlist is the trust root) on a run of jobs.
 */
export interface VerificationContext extends TrustContext {
  store: TrustContext['store'] & Pick<Store,
    'transaction' | 'expireLeases' | 'candidatesOn' | 'candidate' | 'jobRoles' | 'jobsFor' | 'job' | 'insertJob' | 'setJobRole' |
    'setCandidateState' | 'recordAttestation' | 'addRound' | 'bumpIdentity' | 'insertMerge' | 'seedPool' | 'setSeedPool' | 'groupMembers' |
    'hardwareReference' | 'recordHardwareReference' | 'isMergedCommit' | 'candidateByCommit' | 'leasedCandidates' | 'busyVerifiers' | 'roundsBegun' | 'attestationsFor'>
  causeId: string
  leaseMs: number
  bestCommit: () => string
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

/** A candidate's current round as the quorum rules read it: its jobs that have not expired. */
function currentRound (ctx: VerificationContext, candidate: CandidateRow): RoundFacts & { jobs: JobRow[] } {
  const jobs = ctx.store.jobsFor(candidate.seq).filter((j) => j.round === candidate.rounds && j.state !== 'expired')
  return { authors: authorsOf(ctx.store, candidate), jobs, roles: ctx.store.jobRoles(candidate.seq), counts: (v) => countsNow(ctx, v) }
}

export interface LeaseOutcome {
  job: Job | null
  /** Queued work on the best left for another verifier: work this key may not take (its own, a round it serves already), or the rest of a round it took part of. */
  forOthers: boolean
}

/** What the lease handler knows of the other verifiers. */
export interface LeaseOptions {
  /** Lease requests held open (a worker's `help` gets a job only when there are none). */
  verifiersWaiting?: number
  /** Of those, how many besides this one are still without a job (waiting, or woken and yet to look): a round is split with them (rules/parts.ts), and no one waits for a holder still measuring (rules/holder.ts). */
  verifiersIdle?: number
  /** Lease candidates on this commit, a candidate still being verified, and measure them against it (speculation, speculate.ts); default the best. */
  on?: string
  /** With it, work waits for the verifier that holds its baselines (rules/holder.ts); without it, it never does. */
  holders?: Holders
}

/** What the holder rule needs of the lease handler: when each verifier last asked for work, and where to say that a request was held back. */
export interface Holders {
  lookedAt: (verifier: string) => number | undefined
  /** `verifier`'s request was held back until `hold.until` at most (Infinity: the holder's verdict): the handler wakes it then, or when a holder in `hold.awaits` has looked. */
  heldBack: (hold: HolderWait, verifier: string) => void
}

/**
 * Hands the verifier the most promising queued candidate on the current best that
 * it may verify: never its own, never twice in one round (a split round is shared out in
 * parts, rules/parts.ts: there a verifier may take another part). A key on probation gets a
 * shadow job instead. A worker that also verifies (`help`) gets one only when the queue is
 * deeper than the verifiers can serve: none of them is waiting for work (`verifiersWaiting`,
 * the lease requests held open).
 */
export function lease (ctx: VerificationContext, body: LeaseRequestBody, signature: string, opts: LeaseOptions = {}): Job | null {
  return leaseOutcome(ctx, body, signature, opts).job
}

/** `lease`, saying also whether a job it passed over is there for another verifier (handlers/lease-holds.ts relays the wake). */
export function leaseOutcome (ctx: VerificationContext, body: LeaseRequestBody, signature: string, opts: LeaseOptions = {}): LeaseOutcome {
  assertRequest(ctx, body, 'lease-request', signature)
  if (body.help === true && (opts.verifiersWaiting ?? 0) > 0) return { job: null, forOthers: false }
  const { store, manifest } = ctx
  const { quorum } = manifest.verification
  const now = Date.now()
  const { standing, run } = standingOf(ctx, body.publicKey)
  return store.transaction(() => {
    assertHardwareClass(ctx, body.hardware.class, standingCounts(standing))
    store.expireLeases(now)
    const best = opts.on ?? ctx.bestCommit()
    if (standing === 'probation') return { job: opts.on === undefined ? leaseShadow(ctx, body.publicKey, best, now) : null, forOthers: false }
    const split = splittable(ctx.verifierMode, manifest.verification)
    let forOthers = false
    const queued = queueOrder(manifest, store.candidatesOn(best, ['queued']))
    // Not with split rounds: there each verifier holds only its part's seeds.
    const hold = queued.length > 0 && !split ? waitForHolder(ctx, best, body, opts, now) : undefined
    if (hold !== undefined) {
      opts.holders?.heldBack(hold, body.publicKey)
      return { job: null, forOthers: false }
    }
    // A split round is shared with the busy verifiers too, and one begun goes first (rules/parts.ts).
    const sharing = split && queued.length > 0
    const busy = sharing ? [...store.busyVerifiers(now)].filter((k) => k !== body.publicKey).length : 0
    const begun = sharing ? store.roundsBegun() : new Set<number>()
    for (const candidate of split ? begunFirst(queued, (c) => begun.has(c.seq)) : queued) {
      const round = currentRound(ctx, candidate)
      if (split && !round.authors.includes(body.publicKey)) {
        const open = openSeeds(candidate.seeds[candidate.rounds - 1] ?? [], countingJobs(round.jobs, round.roles, round.counts))
        if (open.length === 0) continue
        const seeds = open.slice(0, partSize(open.length, helpersOf(opts.verifiersIdle ?? 0, busy, begun.has(candidate.seq))))
        const job = issue(ctx, candidate, best, body.publicKey, now, undefined, seeds)
        if (seeds.length === open.length) store.setCandidateState(candidate.seq, 'verifying')
        return { job, forOthers: seeds.length < open.length }
      }
      if (!openForCounting(round, body.publicKey, quorum)) {
        forOthers = true
        continue
      }
      const spotCheck = isSpotCheck(standing, run, trustPolicy(ctx), draw())
      const job = issue(ctx, candidate, best, body.publicKey, now, spotCheck ? 'spot-check' : undefined)
      if (fullWith(round, quorum, spotCheck)) store.setCandidateState(candidate.seq, 'verifying')
      return { job, forOthers: false }
    }
    return { job: null, forOthers }
  })
}

/** rules/holder.ts on the store's facts (seeds.ts `runHolders`): how long work measured against `base` waits for a verifier that holds its runs, and for whose look. */
function waitForHolder (ctx: VerificationContext, base: string, body: LeaseRequestBody, { holders, verifiersIdle }: LeaseOptions, now: number): HolderWait | undefined {
  if (holders === undefined) return undefined
  const jobs = runHolders(ctx.store, base, ctx.manifest.verification, ctx.verifierMode, now, (key) => countsNow(ctx, key))
  if (jobs.length === 0) return undefined
  const best = ctx.bestCommit()
  // Read only where the rule consults it (a live holder): runHolders read the same row already, and this is every look's path.
  const deep = jobs.some((j) => j.live) && base !== best && ctx.store.candidateByCommit(base)?.parent_oid !== best
  return heldForHolder(jobs, { requester: body.publicKey, now, warm: body.warmBest === base, deep, othersIdle: (verifiersIdle ?? 0) > 0, lookedAt: holders.lookedAt })
}

/**
 * A cause verified per hardware class (rules/hardware-class.ts) leases only to its reference
 * class, and records the first counting verifier's class as that reference. Checked on every
 * look, a held request's included, so a wrong class is never served nor held.
 */
function assertHardwareClass (ctx: VerificationContext, requester: string, counting: boolean): void {
  const decision = leaseClass({ hardware: ctx.manifest.hardware, recorded: ctx.store.hardwareReference(), requester, counts: counting })
  if (decision.kind === 'mismatch') throw new HardwareClassError(decision.reason)
  if (decision.kind === 'match' && decision.record) ctx.store.recordHardwareReference(decision.reference)
}

/** Uniform in [0, 1), from the CSPRNG: a verifier must not predict which of its jobs are checked. */
const draw = (): number => randomInt(0, 2 ** 47) / 2 ** 47

/** A job on the candidate's current round: all its seeds, or a part of them (`seeds`, rules/parts.ts). */
function issue (ctx: VerificationContext, candidate: CandidateRow, best: string, verifier: string, now: number, role: JobRole | undefined, seeds = candidate.seeds[candidate.rounds - 1] ?? []): Job {
  const round = candidate.rounds
  const row = { candidate_seq: candidate.seq, baseline_oid: best, seeds, verifier, leased_at: now, lease_expires_at: now + ctx.leaseMs, state: 'leased' as const, round }
  const jobId = ctx.store.insertJob(row)
  if (role !== undefined) ctx.store.setJobRole(jobId, role)
  const accept = mayAcceptEarly(ctx.verifierMode, ctx.manifest.verification, { round, role })
  return { jobId, candidateSeq: candidate.seq, baseline: best, candidate: candidate.commit_oid, seeds, leaseExpiresAt: row.lease_expires_at, ...(accept ? { acceptEarly: true } : {}) }
}

/**
 * A job for a key on probation: the same candidate and seeds as a counting verifier's
 * (candidates a counting verifier is already on first), so the two can be compared; it
 * never counts toward quorum and never moves the candidate's state.
 */
function leaseShadow (ctx: VerificationContext, verifier: string, best: string, now: number): Job | null {
  const open = queueOrder(ctx.manifest, ctx.store.candidatesOn(best, ['queued', 'verifying']))
  const options = open.flatMap((candidate) => {
    const slot = shadowSlot(currentRound(ctx, candidate), verifier, OPEN_VERIFICATION.shadowsPerRound)
    return slot === null ? [] : [{ candidate, ...slot }]
  })
  const pick = pickShadow(options)
  return pick === undefined ? null : issue(ctx, pick.candidate, best, verifier, now, 'shadow')
}

export interface AttestOutcome {
  verdict: StoredVerdict
  /** Set when the candidate passed and became the best; the caller moves the git ref. */
  merged?: { candidate: CandidateRow, mergeIndex: number, metric: number, baselineMetric: number }
  /** Set when the candidate passed against a best that has since moved: the caller rebases it. */
  passedOnStaleParent?: CandidateRow
  /** Set when a merge group failed: its members are open again, and the caller carries them on in halves. */
  split?: number[]
  /** A verdict on a candidate measured against the best (not one ahead of it): the speculation window follows these. */
  onBest?: 'merged' | 'rejected'
  /** Set when the candidate passed on the best and waits for a larger merge group (rules/hold.ts): when that wait may end first, for the caller's timer. */
  heldUntil?: number
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
    const candidate = store.candidate(job.candidate_seq)
    if (candidate === undefined) throw new UnknownJobError(`job ${body.jobId} belongs to no candidate`)
    if (body.candidate !== candidate.commit_oid || body.baseline !== job.baseline_oid) throw new InvalidMessageError('attestation names other commits than its job')
    const roles = store.jobRoles(candidate.seq)
    const report = trialReport(manifest, job.seeds, body.trials, { accept: acceptsEarly(ctx, job, roles) })
    if (!report.ok) throw new InvalidMessageError(report.problem)

    store.recordAttestation({ jobId: job.id, candidateSeq: candidate.seq, verifier: body.publicKey, body, signature, at: Date.now() })
    if (ctx.verifierMode === 'open') judgeRound(ctx, candidate.seq, job.round)

    const ignored = notCounted(roles.get(job.id), candidate.state, trustPolicy(ctx).agreementsToTrust)
    if (ignored !== null) return { verdict: pendingVerdict(candidate, ignored) }
    const counts = (v: string): boolean => countsNow(ctx, v)
    const attestations = countingAttestations(store.attestationsFor(candidate.seq), roles, counts)
    const allJobs = store.jobsFor(candidate.seq)
    const jobs = allJobs.filter((j) => j.round === candidate.rounds)
    const inRound = attestations.filter((a) => a.round === candidate.rounds)
    const roundSeeds = candidate.seeds[candidate.rounds - 1] ?? []
    const split = splittable(ctx.verifierMode, manifest.verification)
    // A split round's parts are looked at together: the declared rule may reject on the pairs in so far.
    const stopped = stoppedEarly(ctx, allJobs, roles, attestations) ?? (split ? splitStop(manifest, inRound.flatMap((a) => a.body.trials), roundSeeds.length) : undefined)
    const round = split
      ? partsTally(roundSeeds, countingJobs(jobs, roles, counts), candidate.rounds, stopped !== undefined)
      : tally(inRound.length, jobs, roles, counts, manifest.verification.quorum, candidate.rounds)
    if (!round.complete) {
      if (!round.leased) store.setCandidateState(candidate.seq, 'queued')
      return { verdict: pendingVerdict(candidate, round.reason) }
    }
    const bodies = attestations.map((a) => a.body)
    const members = membersOf(store, candidate)
    // A group's claim is the coordinator's, held against nobody (as a rebase's).
    const facts = members.length === 0 ? candidate : { ...candidate, origin_seq: candidate.origin_seq ?? candidate.seq }
    const ahead = aheadOf(store, candidate)
    const outcome = settle(ctx, candidate, members, bodies, decide(manifest, facts, trialsOf(bodies), ctx.bestCommit(), { stopped, splitRounds: split, ahead: ahead === 'open' }), ahead !== 'merged')
    // What the window learns from: merges, and rejections measured against a best.
    const onBest = outcome.merged !== undefined ? 'merged' : outcome.verdict.state === 'rejected' && ahead === 'merged' ? 'rejected' : undefined
    return onBest === undefined ? outcome : { ...outcome, onBest }
  })
}

/**
 * What the candidate's parent is: a best (`merged`), or a candidate it was carried onto to be
 * verified on top of (speculation): still `open`, or `gone` (rejected, stale or carried on).
 */
function aheadOf (store: VerificationContext['store'], candidate: CandidateRow): 'merged' | 'open' | 'gone' {
  if (store.isMergedCommit(candidate.parent_oid)) return 'merged'
  const parent = store.candidateByCommit(candidate.parent_oid)
  return parent !== undefined && isOpenState(parent.state) ? 'open' : 'gone'
}

/** Whether the job may end early with an acceptance, from what the lease decided it on (rules/accept-early.ts). */
const acceptsEarly = (ctx: VerificationContext, job: Pick<JobRow, 'id' | 'round'>, roles: ReadonlyMap<number, JobRole>): boolean =>
  mayAcceptEarly(ctx.verifierMode, ctx.manifest.verification, { round: job.round, role: roles.get(job.id) })

/** How a counting attestation of the candidate ended its job early, if one did (its report was checked against its job's seeds when it came). */
function stoppedEarly (ctx: VerificationContext, jobs: JobRow[], roles: ReadonlyMap<number, JobRole>, attestations: AttestationRow[]): EarlyEnd | undefined {
  for (const a of attestations) {
    const job = jobs.find((j) => j.id === a.job_id)
    if (job === undefined) continue
    const report = trialReport(ctx.manifest, job.seeds, a.body.trials, { accept: acceptsEarly(ctx, job, roles) })
    if (report.ok && report.stopped !== undefined) return report.stopped
  }
  return undefined
}

/** A split round's parts looked at together: only a rejection is ever early there. */
function splitStop (manifest: VerificationContext['manifest'], trials: AttestationBody['trials'], planned: number): EarlyEnd | undefined {
  const reason = stopEarly(manifest, trials, planned)
  return reason === null ? undefined : { verdict: 'rejected', reason }
}

/**
 * Stores a decision: another round's seeds, or reputation, the verdict and (on a pass) the
 * merge. A merge group (`members`) is credited to its members' authors; one that fails is
 * split, its members open again (`passed`) to go on in halves (rules/groups.ts).
 */
function settle (ctx: VerificationContext, candidate: CandidateRow, members: CandidateRow[], attestations: AttestationBody[], decision: Decision, speculative = false): AttestOutcome {
  const { store } = ctx
  const { verdict } = decision
  if (decision.kind === 'extend') {
    const rounds = [...candidate.seeds, drawRound(store, candidate.parent_oid, ctx.manifest.verification, candidate.seeds.flat())]
    store.addRound(candidate.seq, rounds)
    return { verdict }
  }
  // Reputation moves only where others measured the same candidate.
  for (const { verifier, agreed } of decision.reputation) store.bumpIdentity(verifier, agreed ? 'verifier_agreed' : 'verifier_disagreed')
  recordOutliers(ctx, attestations, verdict.disagreeing)
  // A claim far beyond what verification measured costs the submitter (never a coordinator rebase).
  if (verdict.claimContradicted) store.bumpIdentity(candidate.submitter, 'contradicted')
  if (decision.kind === 'reject' && members.length > 0) {
    const split = members.map((m) => m.seq)
    store.setCandidateState(candidate.seq, 'rejected', `${verdict.reason}; the group is split in halves: ${split.map((s) => `#${s}`).join(', ')}`, verdict)
    // A batch member was never verified on its own: it is queued again, to go on in its half (rules/batch.ts).
    for (const m of members) store.setCandidateState(m.seq, m.verdict === null ? 'queued' : 'passed', `its merge group #${candidate.seq} failed; it goes on in half of that group`)
    return { verdict, split }
  }
  if (decision.kind === 'reject') {
    // Measured on top of a candidate not merged (speculation): it may yet be carried back, and is held against nobody.
    if (!speculative) store.bumpIdentity(candidate.submitter, 'rejected')
    store.setCandidateState(candidate.seq, 'rejected', verdict.reason, verdict)
    return { verdict }
  }
  if (decision.kind === 'rebase') {
    store.setCandidateState(candidate.seq, 'passed', null, verdict)
    return { verdict, passedOnStaleParent: candidate }
  }
  // A larger merge group still being verified on this best goes first (rules/hold.ts): the
  // pass waits, and CarryPlanner merges it (`promote`) once that one has failed, its lease ran
  // out, or it is overdue.
  const now = Date.now()
  const pace = paceOf(store, candidate.seq)
  const waitFor = heldBy(submissionsIn(store, candidate), inFlightOn(store, candidate.parent_oid, now, candidate.seq), now, pace)
  if (waitFor.length > 0) {
    const group = waitFor.reduce((a, b) => b.submissions > a.submissions ? b : a)
    store.setCandidateState(candidate.seq, 'passed', null, { ...verdict, state: 'pending', passedOn: candidate.parent_oid, heldFor: group.seq, reason: `passed, and waits for merge group #${group.seq} (${group.submissions} submissions), still being verified on ${candidate.parent_oid.slice(0, 10)}: it merges if that one fails, else goes on in the next group (${verdict.reason})` })
    return { verdict: store.candidate(candidate.seq)?.verdict ?? verdict, heldUntil: Math.min(...waitFor.map((f) => waitEnds(f, pace))) }
  }
  // The merge row is written in the same transaction as the deciding attestation;
  // the git ref follows the database (Coordinator.recover re-points it after a crash).
  const { metric, baselineMetric } = decision
  const mergeIndex = store.insertMerge({ commit_oid: candidate.commit_oid, parent_oid: candidate.parent_oid, candidate_seq: candidate.seq, metric, baseline_metric: baselineMetric, merged_at: Date.now(), kind: 'merge' })
  for (const author of authorsOf(store, candidate)) store.bumpIdentity(author, 'accepted')
  store.setCandidateState(candidate.seq, 'merged', null, verdict)
  return { verdict, merged: { candidate, mergeIndex, metric, baselineMetric } }
}

/**
 * Merges a candidate that passed against a candidate then still being verified (its
 * verdict's `passedOn`), now that that one is the best, or one that passed on the best and
 * waited for a larger merge group that did not merge (`heldFor`, rules/hold.ts): its paired
 * trials were measured against exactly this commit, so nothing is measured again
 * (docs/trust.md, "Speculation"). Returns undefined when the candidate is not such a passer
 * on the current best.
 */
export function promote (ctx: Pick<VerificationContext, 'store' | 'bestCommit'>, candidate: CandidateRow): AttestOutcome['merged'] {
  const { store } = ctx
  return store.transaction(() => {
    const best = ctx.bestCommit()
    const now = store.candidate(candidate.seq)
    const verdict = now?.verdict
    if (now === undefined || now.state !== 'passed' || now.parent_oid !== best || verdict?.passedOn !== best || verdict.test === null) return undefined
    const { candidateMetric: metric, baselineMetric } = verdict
    if (metric === null || baselineMetric === null) return undefined
    const accepted: StoredVerdict = {
      ...verdict,
      state: 'accepted',
      reason: `mean improvement ${verdict.test.mean.toPrecision(4)} over ${verdict.test.n} paired trials beats minImprovement (p=${verdict.test.pValue.toPrecision(3)}), measured against ${best.slice(0, 10)} ${verdict.heldFor === undefined ? 'while that was still a candidate; merged when it became the best' : `and held while merge group #${verdict.heldFor} was verified there; merged when that one did not merge`}`
    }
    const mergeIndex = store.insertMerge({ commit_oid: now.commit_oid, parent_oid: best, candidate_seq: now.seq, metric, baseline_metric: baselineMetric, merged_at: Date.now(), kind: 'merge' })
    for (const author of authorsOf(store, now)) store.bumpIdentity(author, 'accepted')
    store.setCandidateState(now.seq, 'merged', null, accepted)
    return { candidate: now, mergeIndex, metric, baselineMetric }
  })
}
