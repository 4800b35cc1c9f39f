/**
 * The coordinator side of the simulation: the REAL store (SQLite in a temp dir) and the
 * REAL decision code — intake's quota check and candidate row, `lease()` and `attest()`
 * (queue order, quorum, the paired one-sided test, near-tie rounds, stale-parent
 * verdicts), the lease handler's rebase-then-lease loop and `CarryPlanner`. Requests
 * are really signed and checked. Only what needs a git repository is modelled: a
 * rebase's three-way merge conflicts with probability `c` (then the candidate is stale,
 * as rebase.ts marks it), else the rebased candidate is stored as rebase.ts stores it.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Identity, parseManifest, parseManifestText, type AttestationBody, type BestRun, type Job, type LeaseRequestBody, type Manifest, type SubmissionBody, type Trial } from '@autoresearch/protocol'
import { STALE_BATCH } from '../../../coordinator/src/handlers/lease.ts'
import { assertMaySubmit } from '../../../coordinator/src/policy.ts'
import { CarryPlanner } from '../../../coordinator/src/carry-plan.ts'
import { WarmRoster } from '../../../coordinator/src/warm-roster.ts'
import { HolderWaits } from '../../../coordinator/src/handlers/holder-waits.ts'
import { warmByReuse } from '../../../coordinator/src/seeds.ts'
import { countsNow } from '../../../coordinator/src/verifier-trust.ts'
import { splittable } from '../../../coordinator/src/rules/parts.ts'
import { BestRunsMemo } from '../../../coordinator/src/best-runs.ts'
import { newCandidate, type CandidateContext, type CandidateFields } from '../../../coordinator/src/new-candidate.ts'
import type { CandidateRow, MergeRow, Store } from '../../../coordinator/src/store/index.ts'
import { conflictChance } from './model.ts'
import { attest, leaseOutcome, promote, type AttestOutcome, type Holders, type LeaseOptions, type LeaseOutcome, type VerificationContext } from '../../../coordinator/src/verification.ts'
import { Speculation, speculativeLease, type CarryRequest } from '../../../coordinator/src/speculate.ts'
import { batchMembers } from '../../../coordinator/src/batch.ts'
import { submissionsIn } from '../../../coordinator/src/group-members.ts'

const CAUSE = 'simulated'
const HARDWARE = { class: 'sim', cpus: 1, gpus: ['sim-gpu'] }
const DIGEST = '0'.repeat(64)

/**
 * The sim-cost cause's manifest (minImprovement 0.05, confidence 0.95, quorum 1), with `trials`
 * paired trials per round; with `sequential` its rule's pair noise is √2 × `noise`, else it has
 * none; `splitRounds` as given (a CPU cause: its machines measure alike); `speculation` its
 * window, or none (coordinator/src/speculate.ts); `batch` its size, or none (coordinator/src/batch.ts);
 * `reuseCandidateRuns` as given, default off (coordinator/src/seeds.ts).
 */
export function simManifest (trials: number, opts: { noise: number, sequential: boolean, splitRounds: boolean, speculation?: number, batch?: number, reuseCandidateRuns?: boolean, accept?: number }): Manifest {
  const manifest = parseManifestText(readFileSync(join(import.meta.dirname, '../../causes/sim-cost/autoresearch.json'), 'utf8'))
  const { sequential: _, ...verification } = manifest.verification
  const rule = opts.sequential ? { sequential: { noise: Math.SQRT2 * opts.noise, ...(opts.accept === undefined ? {} : { accept: opts.accept }) } } : {}
  const ahead = opts.speculation === undefined ? {} : { speculation: { window: opts.speculation } }
  const batch = opts.batch === undefined ? {} : { batch: { size: opts.batch } }
  return parseManifest({ ...manifest, verification: { ...verification, trials, ...rule, ...ahead, ...batch, splitRounds: opts.splitRounds, reuseCandidateRuns: opts.reuseCandidateRuns ?? false } })
}

let oids = 0
/** A fresh, unique 40-hex object id (commits and trees are not stored anywhere). */
const oid = (): string => createHash('sha1').update(`sim-${process.pid}-${++oids}`).digest('hex')
const nonce = (): string => randomBytes(16).toString('hex')

type Merged = NonNullable<AttestOutcome['merged']>

/**
 * What the simulation learns of candidates carried onto a new best: a rebase (old seq → new;
 * also a speculative carry onto a candidate), a merge group (members → group), and a merge
 * without a job of its own (a candidate that passed on top of the one that just merged).
 */
export interface Carried { rebased: (from: number, to: number) => void, grouped: (members: number[], group: number) => void, promoted: (merged: Merged) => void }

interface CarriedNow { rebased: Array<[number, number]>, grouped: Array<[number[], number]>, promoted: Merged[] }

function report (carried: CarriedNow, on: Carried): void {
  for (const m of carried.promoted) on.promoted(m)
  for (const [from, to] of carried.rebased) on.rebased(from, to)
  for (const [members, group] of carried.grouped) on.grouped(members, group)
}

export class SimCoordinator {
  readonly store: Store
  readonly manifest: Manifest
  readonly identity = Identity.generate()
  readonly ctx: VerificationContext
  readonly #random: () => number
  readonly #conflict: number
  readonly #conflictPer: 'carry' | 'change'
  /** Submissions merged up to each best (a group counts its members): what a carry onto it must reconcile. */
  readonly #changes = new Map<string, number>()

  readonly #carry: CarryPlanner
  readonly #candidates: CandidateContext
  readonly #roster = new WarmRoster()
  readonly #bestRuns: BestRunsMemo
  readonly speculation?: Speculation
  /**
   * Work held back for the verifier that holds its baselines (coordinator/src/rules/holder.ts):
   * `wakeHeld` wakes the verifiers held back when a holder they wait for looked. A simulated verifier
   * asks again as it attests, so no holder's grace runs out here and no timer is set.
   */
  readonly #holderWaits: HolderWaits
  /** Lease requests the holder rule held back (the row's `heldForHolder`). */
  heldForHolder = 0
  readonly #holders: Holders

  constructor (store: Store, opts: { manifest: Manifest, verifiers: Identity[], conflict: number, conflictPer?: 'carry' | 'change', random: () => number, runSeconds: number, groups: boolean, wakeHeld: (verifiers: string[]) => void }) {
    this.#holderWaits = new HolderWaits(opts.wakeHeld, () => {})
    this.#holders = { lookedAt: this.#holderWaits.lookedAt, heldBack: (hold, key) => { this.heldForHolder++; this.#holderWaits.heldBack(hold, key) } }
    this.#carry = new CarryPlanner({ store, manifest: opts.manifest }, { groups: opts.groups })
    this.store = store
    this.#bestRuns = new BestRunsMemo(store)
    this.manifest = opts.manifest
    this.#conflict = opts.conflict
    this.#conflictPer = opts.conflictPer ?? 'carry'
    this.#random = opts.random
    const initial = oid()
    store.insertMerge({ commit_oid: initial, parent_oid: null, candidate_seq: null, metric: null, baseline_metric: null, merged_at: Date.now(), kind: 'initial' })
    this.#changes.set(initial, 0)
    // As Coordinator.leaseMs: two runs per trial and a minute of slack.
    const leaseMs = (opts.runSeconds * opts.manifest.verification.trials * 2 + 60) * 1000
    this.ctx = {
      causeId: CAUSE, manifest: opts.manifest, store, verifierMode: 'allowlist', verifiers: new Set(opts.verifiers.map((v) => v.publicKey)),
      leaseMs, bestCommit: () => this.best()
    }
    this.#candidates = { causeId: CAUSE, store, manifest: opts.manifest, identity: this.identity }
    const declared = opts.manifest.verification.speculation
    if (declared !== undefined) this.speculation = new Speculation(declared.window)
  }

  best (): string {
    return (this.store.lastMerge() as { commit_oid: string }).commit_oid
  }

  /** What intake stores for a submission that passed its checks (intake.ts checkedIntake); returns the new seq. */
  submit (submitter: Identity, parent: string, claimedMetric: number): number {
    assertMaySubmit(this.store, submitter.publicKey)
    const commit = oid()
    const body: SubmissionBody = {
      type: 'submission', causeId: CAUSE, parent, candidate: commit, packSha256: DIGEST, claimedMetric, logDigest: DIGEST,
      description: 'simulated experiment', publicKey: submitter.publicKey, nonce: nonce(), time: Date.now()
    }
    return this.#insert({ commit, parent, submitter: submitter.publicKey, claimedMetric, submission: { body, signature: submitter.sign('submission', body) }, origin: null }, body.nonce)
  }

  #insert (c: Omit<CandidateFields, 'tree' | 'description'>, nonce: string | null): number {
    const row = newCandidate(this.#candidates, { ...c, tree: oid(), description: 'simulated experiment' })
    this.store.insertCandidate(row, nonce)
    return row.seq
  }

  /** Whether the lease handler would tell this verifier the best's seed pool (its `warmSeeds`, warm-roster.ts). */
  mayWarm (verifier: Identity): boolean {
    const best = this.best()
    const alreadyWarm = (): string[] => warmByReuse(this.store, best, this.manifest.verification, this.ctx.verifierMode, (key) => countsNow(this.ctx, key))
    return this.#roster.mayWarm(best, verifier.publicKey, { quorum: this.manifest.verification.quorum, split: splittable(this.ctx.verifierMode, this.manifest.verification), ahead: this.speculation?.open === true }, alreadyWarm)
  }

  /**
   * Coordinator.rebaseStale with the git merge modelled: the real `CarryPlanner` decides the
   * merge groups and the stale candidates to rebase (at most `limit`); returns how many are
   * left and the rebases and groups made.
   */
  rebaseStale (limit = Infinity, promoted: Merged[] = []): { remaining: number } & CarriedNow {
    const before = this.best()
    const plan = this.#carry.plan(before, limit)
    // Coordinator.rebaseStale: a candidate that passed on top of the new best merges, and the turn is planned again.
    const merged = plan.promote[0] === undefined ? undefined : promote(this.ctx, plan.promote[0])
    if (merged !== undefined) {
      this.speculation?.record('merged')
      this.#changes.set(this.best(), (this.#changes.get(before) ?? 0) + submissionsIn(this.store, merged.candidate))
      return this.rebaseStale(limit, [...promoted, merged])
    }
    const best = before
    const rebased: Array<[number, number]> = []
    const grouped: Array<[number[], number]> = []
    for (const members of plan.groups) {
      // Each member's merge modelled, as group.ts merges them one after another (each onto the members taken before it).
      const taken: CandidateRow[] = []
      for (const m of members) if (!this.#conflicts(m, best, taken.length)) taken.push(m)
      if (taken.length === 1) rebased.push(this.#rebase(taken[0] as CandidateRow, best))
      if (taken.length < 2) continue
      const first = taken[0] as CandidateRow
      const row = newCandidate(this.#candidates, {
        commit: oid(), tree: oid(), parent: best, submitter: this.identity.publicKey, claimedMetric: first.claimed_metric,
        description: 'simulated merge group', submission: first.submission, origin: null
      })
      this.store.insertGroup(row, taken.map((m) => m.seq))
      grouped.push([taken.map((m) => m.seq), row.seq])
    }
    for (const candidate of plan.rebase) {
      if (!this.#conflicts(candidate, best)) rebased.push(this.#rebase(candidate, best))
    }
    return { remaining: plan.remaining, rebased, grouped, promoted }
  }

  /**
   * A speculative carry (rebase.ts with `ahead`) with the merge modelled: onto the tip, a
   * change conflicts as a carry over one more change would; one that does not fit is left as it is.
   */
  #carryOnto ({ candidate, tip }: CarryRequest, verifier: string, on: Carried): boolean {
    // Coordinator.speculate: with batches declared, a batch starting from this candidate goes onto the tip where one forms.
    if (this.#batch(verifier, on, { onto: tip, from: candidate.seq })) return true
    if (this.#random() < conflictChance(this.#conflict, this.#conflictPer, 1)) return false
    on.rebased(...this.#rebase(candidate, tip.commit_oid))
    return true
  }

  /** Coordinator.speculate: the real speculativeLease, its carries modelled; null when it has no job. */
  #speculate (body: LeaseRequestBody, signature: string, opts: LeaseOptions, on: Carried): LeaseOutcome | null {
    if (this.speculation === undefined) return null
    const steps = speculativeLease({ ctx: { ...this.ctx, store: this.store }, speculation: this.speculation }, body, signature, opts)
    let step = steps.next()
    while (step.done !== true) step = steps.next(this.#carryOnto(step.value, body.publicKey, on))
    return step.value?.job === null ? null : step.value
  }

  /**
   * Coordinator.batch (coordinator/src/batch.ts `formBatch`): the real `batchMembers` picks the
   * members, each member's merge onto those before it is modelled (one that conflicts stays
   * queued), and a batch of two or more is stored as formBatch stores it. Returns whether one formed.
   */
  #batch (verifier: string, on: Carried, opts: { onto?: CandidateRow, from?: number } = {}): boolean {
    const members = batchMembers(this.store, this.manifest, verifier, this.best(), opts.from)
    if (members.length < 2) return false
    const parent = opts.onto?.commit_oid ?? this.best()
    const ahead = opts.onto === undefined ? 0 : 1
    const taken: CandidateRow[] = []
    for (const m of members) if (!this.#mergeConflicts(m, this.best(), taken.length + ahead)) taken.push(m)
    if (taken.length < 2) return false
    const first = taken[0] as CandidateRow
    const row = newCandidate(this.#candidates, {
      commit: oid(), tree: oid(), parent, submitter: this.identity.publicKey, claimedMetric: first.claimed_metric,
      description: 'simulated batch', submission: first.submission, origin: null
    })
    this.store.insertGroup(row, taken.map((m) => m.seq))
    on.grouped(taken.map((m) => m.seq), row.seq)
    return true
  }

  /** After a merge (handlers/attest.ts): candidates that passed on top of it merge now. */
  afterMerge (on: Carried): void {
    if (this.speculation !== undefined) report(this.rebaseStale(0), on)
  }

  /**
   * A modelled three-way merge onto `best` (and `extra` group members merged before it): it
   * conflicts with probability `c`, per carry or per change merged since the candidate's
   * parent (conflictChance), and the candidate is then stale as rebase.ts marks it.
   */
  #conflicts (candidate: CandidateRow, best: string, extra = 0): boolean {
    if (!this.#mergeConflicts(candidate, best, extra)) return false
    this.store.setCandidateState(candidate.seq, 'stale', `its change conflicts with the new best ${best.slice(0, 10)} in train.py; start from the new best`)
    return true
  }

  /** Whether the modelled merge of the candidate's own change onto `best` and `extra` changes on top of it conflicts (conflictChance). */
  #mergeConflicts (candidate: CandidateRow, best: string, extra: number): boolean {
    const changes = (this.#changes.get(best) ?? 0) - (this.#changes.get(candidate.parent_oid) ?? 0) + extra
    return this.#random() < conflictChance(this.#conflict, this.#conflictPer, changes)
  }

  /** What rebase.ts stores for a clean merge: a new candidate on the best (or on a candidate ahead, speculation), re-verifying the old one's change. */
  #rebase (candidate: CandidateRow, best: string): [number, number] {
    return [candidate.seq, this.store.transaction(() => {
      const seq = this.#insert({ commit: oid(), parent: best, submitter: candidate.submitter, claimedMetric: candidate.claimed_metric, submission: candidate.submission, origin: candidate.origin_seq ?? candidate.seq }, null)
      this.store.setCandidateState(candidate.seq, 'rebased', `rebased onto ${best.slice(0, 10)} as candidate #${seq}`)
      return seq
    })]
  }

  /**
   * The lease handler (handlers/lease.ts): rebase a batch of stale candidates, lease, until a job or
   * nothing left. `help`: a worker that also verifies, answered with a job only when no verifier
   * waits (`verifiersWaiting`); `verifiersIdle`: the others waiting for work, who share a split round.
   */
  lease (verifier: Identity, on: Carried, asked: { help?: boolean } & LeaseOptions = {}): LeaseOutcome {
    const opts = { ...asked, holders: this.#holders }
    for (;;) {
      const endsHolds = this.#holderWaits.looked(verifier.publicKey, Date.now())
      const { remaining, ...carried } = this.rebaseStale(STALE_BATCH)
      report(carried, on)
      const body: LeaseRequestBody = { type: 'lease-request', causeId: CAUSE, publicKey: verifier.publicKey, hardware: HARDWARE, nonce: nonce(), time: Date.now(), ...(opts.help === true ? { help: true } : {}) }
      const signature = verifier.sign('lease-request', body)
      const ahead = this.#speculate(body, signature, opts, on)
      if (ahead !== null) {
        if (endsHolds) this.#holderWaits.lookAgain()
        return ahead
      }
      this.#batch(verifier.publicKey, on)
      const outcome = leaseOutcome(this.ctx, body, signature, opts)
      if (outcome.job !== null) this.#roster.served(outcome.job.baseline, verifier.publicKey, outcome.job.candidateSeq)
      if (outcome.job !== null || remaining === 0) {
        if (endsHolds) this.#holderWaits.lookAgain()
        return outcome
      }
    }
  }

  /** The verified runs of the best that `info` gives workers (best-runs.ts); every simulated machine has one hardware class. */
  bestRuns (): BestRun[] {
    return this.#bestRuns.runs(this.store.lastMerge() as MergeRow)
  }

  /** The attest handler (handlers/attest.ts): decide, and rebase everything stale when the pass was on an old best or a group split. */
  attest (verifier: Identity, job: Job, trials: Array<{ seed: number, baseline: number, candidate: number }>, on: Carried): AttestOutcome {
    const body: AttestationBody = {
      type: 'attestation', causeId: CAUSE, jobId: job.jobId, candidate: job.candidate, baseline: job.baseline,
      trials: trials.map((t): Trial => ({ ...t, baselineLogDigest: DIGEST, candidateLogDigest: DIGEST })), hardware: HARDWARE, publicKey: verifier.publicKey, time: Date.now()
    }
    const before = this.best()
    const outcome = attest(this.ctx, body, verifier.sign('attestation', body))
    if (outcome.onBest !== undefined) this.speculation?.record(outcome.onBest)
    if (outcome.merged !== undefined) this.#changes.set(this.best(), (this.#changes.get(before) ?? 0) + submissionsIn(this.store, outcome.merged.candidate))
    if (outcome.passedOnStaleParent !== undefined || outcome.split !== undefined) report(this.rebaseStale(), on)
    return outcome
  }
}
