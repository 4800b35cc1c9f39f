/**
 * One simulated network: N volunteers (search workers) and max(1, N/4) verifiers against
 * the real coordinator code (coordinator.ts here), on a virtual clock. Returns what the
 * simulate bench reports per row.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { endsEarly, Identity, type Job } from '@autoresearch/protocol'
import { logger } from '@libp2p/logger'
import { verifiersToWake } from '../../../coordinator/src/handlers/lease-holds.ts'
import { warmRound } from '../../../coordinator/src/seeds.ts'
import { Store, type CandidateRow } from '../../../coordinator/src/store/index.ts'
import { EventQueue, Random, withVirtualClock } from './clock.ts'
import { SimCoordinator, simManifest, type Carried } from './coordinator.ts'
import { drawGain, FOLLOW_RUNS, observedGain, type ModelOptions } from './model.ts'
import { NOISE_FROM_RUNS } from '../../../worker/src/operations/seeds.ts'
import { NOISE_MAX_AGE, NOISE_SEEDS } from '../../../worker/src/operations/noise.ts'
import { beyondDoubtHere } from '../../../worker/src/operations/submission.ts'

const log = logger('autoresearch:bench:simulate')

/** What the network does today, feature by feature, so the variants compare side by side. */
export interface SimFeatures {
  /** Lease requests are held until work appears (else an idle verifier asks every 2 s). */
  held: boolean
  /** An idle verifier runs the baselines of the current best's next round that its job surely runs (coordinator/src/seeds.ts `warmRound`). */
  warm: boolean
  /** The cause declares `verification.sequential`: a job stops when its pairs already decide it (protocol's `endsEarly`). */
  sequential: boolean
  /** Pairs of one job a verifier runs side by side (`--slots`). */
  slots: number
  /**
   * A worker does not measure its own merged submission, takes a best's verified runs (info's
   * `bestRuns`, one hardware class here) instead of measuring it, and measures its noise (2
   * runs) once per 4 bests, when a gain first needs it (worker/src/operations/noise.ts).
   */
  workerSavings: boolean
  /** Every volunteer runs `--also-verify`: one job before each experiment when no verifier is waiting. */
  helpers: boolean
  /** Candidates that passed on an old best go on in merge groups (else each is rebased and verified alone). */
  groups: boolean
  /** The cause declares `verification.splitRounds`: a round's pairs are spread over the verifiers waiting for work (coordinator/src/rules/parts.ts), else one verifier runs them all. */
  split: boolean
  /** The cause declares `verification.speculation` with this window (coordinator/src/speculate.ts). */
  speculation?: number
  /** The cause declares `verification.batch` with this size (coordinator/src/batch.ts). */
  batch?: number
  /** The cause declares `verification.reuseCandidateRuns`: a verifier keeps its candidate runs as that commit's baselines, and its pool begins with their seeds (coordinator/src/seeds.ts). */
  reuse?: boolean
  /** The cause declares `verification.sequential.accept` at this rate: a job may end early with an acceptance (protocol/src/sequential.ts `acceptEarly`; never with split rounds). */
  accept?: number
}

export const VARIANTS: Record<'serial' | 'whole' | 'now' | 'helping' | 'ahead' | 'ahead-whole' | 'batched' | 'ahead-batched' | 'reused' | 'accepting' | 'every', SimFeatures> = {
  /** The code before issue 14: 2-s polls, no warm-up, every pair run, 3 runs per new best. */
  serial: { held: false, warm: false, sequential: false, slots: 1, workerSavings: false, helpers: false, groups: false, split: false },
  /** Today's defaults without split rounds: each round on one verifier. */
  whole: { held: true, warm: true, sequential: true, slots: 1, workerSavings: true, helpers: false, groups: true, split: false },
  /** Today's defaults. */
  now: { held: true, warm: true, sequential: true, slots: 1, workerSavings: true, helpers: false, groups: true, split: true },
  /** Today's defaults with every volunteer helping to verify. */
  helping: { held: true, warm: true, sequential: true, slots: 1, workerSavings: true, helpers: true, groups: true, split: true },
  /** `now` with speculation (window 4, as the sim-cost cause declares). */
  ahead: { held: true, warm: true, sequential: true, slots: 1, workerSavings: true, helpers: false, groups: true, split: true, speculation: 4 },
  /** `whole` with speculation. */
  'ahead-whole': { held: true, warm: true, sequential: true, slots: 1, workerSavings: true, helpers: false, groups: true, split: false, speculation: 4 },
  /** `now` with batches of up to 8 (coordinator/src/batch.ts). */
  batched: { held: true, warm: true, sequential: true, slots: 1, workerSavings: true, helpers: false, groups: true, split: true, batch: 8 },
  /** `ahead` with batches of up to 8: what goes on top of the candidate in flight is a batch where one forms. */
  'ahead-batched': { held: true, warm: true, sequential: true, slots: 1, workerSavings: true, helpers: false, groups: true, split: true, speculation: 4, batch: 8 },
  /** `now` with a candidate's verified runs as its baselines once it is the best. */
  reused: { held: true, warm: true, sequential: true, slots: 1, workerSavings: true, helpers: false, groups: true, split: true, reuse: true },
  /** `whole` with early acceptance spending 0.02 of the 0.05 false-acceptance rate (split rounds exclude it). */
  accepting: { held: true, warm: true, sequential: true, slots: 1, workerSavings: true, helpers: false, groups: true, split: false, accept: 0.02 },
  /**
   * `accepting` with reuse, speculation 4 and batches of up to 8: every saving, as the scaling
   * bench's issue-shaped races declare them. The one variant where work measured against a
   * commit waits for the verifier that holds its runs (rules/holder.ts: reuse with whole rounds).
   */
  every: { held: true, warm: true, sequential: true, slots: 1, workerSavings: true, helpers: false, groups: true, split: false, accept: 0.02, reuse: true, speculation: 4, batch: 8 }
}

export interface SimOptions extends Omit<ModelOptions, 'minImprovement'> {
  volunteers: number
  /** Default max(1, floor(volunteers / 4)), as the scaling bench. */
  verifiers?: number
  hours: number
  seed: number
  trials: number
  /** Default VARIANTS.now. */
  features?: SimFeatures
  /** Hard caps on events and on wall-clock seconds; a run that hits one reports `capped` and the simulated hours it reached. */
  maxEvents: number
  maxWallSeconds?: number
}

export interface SimRow {
  volunteers: number
  verifiers: number
  hours: number
  /** Merge steps: a merge group's is one, however many submissions it carries. */
  merges: number
  mergesPerHour: number
  /** Submissions merged per hour, each member of a merged group counted: the rate of verified improvements. */
  mergedPerHour: number
  /** How far the best's true loss fell per hour (the model's truth, which verification only measures): research progress, false merges included. */
  trueGainPerHour: number
  /** Merged submissions whose true gain was below minImprovement (what the declared false-acceptance rate bounds; those that made things worse included). */
  mergedBelowMargin: number
  /** Verifier sandbox seconds (helpers' jobs and warm-ups included) over all sandbox seconds. */
  verifyShare: number
  /** Own submissions (rebases not counted), and what became of each: merged, rejected, stale or still open at the end. */
  submitted: number
  merged: number
  rejected: number
  stale: number
  queueAtEnd: number
  /** Submissions intake's quota refused. */
  refused: number
  rebases: number
  /** Merge groups formed (rules/groups.ts): each carries two or more passed candidates onto the best as one. */
  groups: number
  /** Merges of candidates verified on top of another still being verified (speculation: a job leased before its parent merged). */
  ahead: number
  /** Of those, the ones that passed before their parent merged, and merged with it without a job of their own. */
  promoted: number
  jobs: number
  /** Jobs the sequential rule ended before their last pair. */
  stoppedEarly: number
  /** Jobs run by volunteers that also verify. */
  helperJobs: number
  /** Lease requests held back for the verifier holding the runs their work is measured against (rules/holder.ts; reuse with whole rounds only). */
  heldForHolder: number
  verifierRuns: number
  /** Of the verifier runs, baselines warmed ahead of jobs. */
  warmRuns: number
  cacheHits: number
  workerRuns: number
  /** Of the workers' runs, those spent measuring each new best and this machine's noise on it. */
  followRuns: number
  /** Candidates with a verdict stored by the real attest(). */
  verdicts: number
  events: number
  capped: boolean
}

const HOUR = 3600 * 1000
/** The true loss of the cause's first best (the sim-cost cause starts near 4.3). */
const START_LOSS = 4.3
/** Without held requests an idle verifier asks again every 2 s (handlers/lease.ts retryAfterMs); one woken by new work asks within that. */
const POLL_MS = 2000

/** `inspect` sees the coordinator's store at the end, before it is deleted (for tests). */
export function simulate (opts: SimOptions, inspect?: (store: Store) => void): SimRow {
  // In memory where the system has it: the store's fsyncs are not what this bench measures.
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'autoresearch-simulate-'))
  const store = new Store(join(dir, 'coordinator.db'))
  const queue = new EventQueue(Date.now())
  try {
    const row = withVirtualClock(queue, () => new Simulation(store, queue, opts).run())
    inspect?.(store)
    return row
  } finally {
    store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A baseline result a machine holds: its value, and when its run ends (a warm-up may still be running). */
interface Cached { value: number, readyAt: number }
/** What runs verification jobs: a verifier, or a volunteer that also verifies. */
interface Machine { identity: Identity, cache: Map<string, Cached>, slots: number }
interface Verifier extends Machine { idle: boolean, waking: boolean, warmed?: string }
interface Volunteer extends Machine { followed: string, confirmBaseCached: boolean, noiseAge: number, noiseDue: boolean }
type PairResult = { seed: number, baseline: number, candidate: number }

class Simulation {
  readonly #queue: EventQueue
  readonly #opts: SimOptions
  readonly #features: SimFeatures
  readonly #model: ModelOptions
  readonly #random: Random
  readonly #timing: Random
  readonly #coord: SimCoordinator
  readonly #verifiers: Verifier[]
  readonly #volunteers: Volunteer[]
  /** True loss of every best commit, and each candidate's true gain over its parent. */
  readonly #truth = new Map<string, number>()
  readonly #gain = new Map<number, number>()
  #best: string
  /** Who submitted the candidate whose merge made the best (a worker does not measure its own). */
  #bestBy?: string
  readonly #count = { refused: 0, rebases: 0, groups: 0, promoted: 0, jobs: 0, stoppedEarly: 0, helperJobs: 0, verifierRuns: 0, warmRuns: 0, cacheHits: 0, workerRuns: 0, followRuns: 0 }

  constructor (store: Store, queue: EventQueue, opts: SimOptions) {
    this.#queue = queue
    this.#opts = opts
    this.#features = opts.features ?? VARIANTS.now
    const manifest = simManifest(opts.trials, { noise: opts.noise, sequential: this.#features.sequential, splitRounds: this.#features.split, speculation: this.#features.speculation, batch: this.#features.batch, reuseCandidateRuns: this.#features.reuse, accept: this.#features.accept })
    this.#model = { ...opts, minImprovement: manifest.verification.minImprovement }
    this.#random = new Random(opts.seed)
    this.#timing = new Random(opts.seed + 0x9e3779b9)
    const count = opts.verifiers ?? Math.max(1, Math.floor(opts.volunteers / 4))
    this.#verifiers = Array.from({ length: count }, () => ({ identity: Identity.generate(), cache: new Map(), slots: this.#features.slots, idle: true, waking: false }))
    this.#volunteers = Array.from({ length: opts.volunteers }, () => ({ identity: Identity.generate(), cache: new Map(), slots: 1, followed: '', confirmBaseCached: false, noiseAge: NOISE_MAX_AGE, noiseDue: false }))
    // A volunteer that also verifies is on the allowlist like any verifier.
    const allowed = [...this.#verifiers, ...(this.#features.helpers ? this.#volunteers : [])].map((m) => m.identity)
    this.#coord = new SimCoordinator(store, { manifest, verifiers: allowed, conflict: opts.c, conflictPer: opts.conflictPer, random: () => this.#random.next(), runSeconds: opts.runSeconds, groups: this.#features.groups, wakeHeld: (keys) => { this.#wakeVerifiers(keys) } })
    this.#best = this.#coord.best()
    this.#truth.set(this.#best, START_LOSS)
  }

  get #runMs (): number { return this.#opts.runSeconds * 1000 }

  /** One verifier run's wall time (ModelOptions.jitter), from a stream of its own so that the model's other draws stay the same. */
  #verifierRunMs (): number {
    const jitter = this.#opts.jitter ?? 0
    return jitter === 0 ? this.#runMs : this.#runMs * (1 + jitter * (this.#timing.next() - 0.5))
  }

  run (): SimRow {
    const start = this.#queue.now
    for (const v of this.#volunteers) {
      v.followed = this.#best
      // Volunteers join within the first run, not all in the same millisecond.
      this.#queue.after(this.#random.next() * this.#runMs, () => { this.#follow(v) })
    }
    const deadline = performance.now() + (this.#opts.maxWallSeconds ?? Infinity) * 1000
    const { ran, early } = this.#queue.run(start + this.#opts.hours * HOUR, this.#opts.maxEvents, () => performance.now() > deadline)
    return this.#row((this.#queue.now - start) / HOUR, ran, early)
  }

  // volunteers ---------------------------------------------------------------------

  /**
   * Runs on a new best (follow.ts, seeds.ts): none for the worker's own merge; none for a
   * best with verified runs (and its confirmation baseline too, with two seeds of them; its
   * noise, with three); else a measurement. A noise estimate 4 bests old (or never made) is
   * due: measured when a gain first needs it (`#experiment`).
   */
  #followRuns (v: Volunteer): number {
    if (!this.#features.workerSavings) return FOLLOW_RUNS
    if (this.#bestBy === v.identity.publicKey) return 0
    const verified = new Set(this.#coord.bestRuns().map((r) => r.seed)).size
    v.confirmBaseCached = verified >= 2
    const measure = verified > 0 ? 0 : 1
    if (v.noiseDue) return measure
    if (v.noiseAge < NOISE_MAX_AGE - 1) { v.noiseAge++; return measure }
    v.noiseAge = 0
    v.noiseDue = verified < NOISE_FROM_RUNS
    return measure
  }

  /** A new best: measure it (and this machine's noise, follow.ts), then experiment. */
  #follow (v: Volunteer): void {
    v.followed = this.#best
    v.confirmBaseCached = false
    const runs = this.#followRuns(v)
    this.#count.followRuns += runs
    this.#runs(v, runs, () => { this.#experiment(v) })
  }

  #runs (v: Volunteer, n: number, then: () => void): void {
    this.#queue.after(n * this.#runMs, () => {
      this.#count.workerRuns += n
      // The worker learns of a new best between operations: work on the old one is dropped.
      if (this.#best !== v.followed) this.#follow(v)
      else then()
    })
  }

  /** After an operation: the new best if one came meanwhile, else the next experiment. */
  #next (v: Volunteer): void {
    if (this.#best !== v.followed) this.#follow(v)
    else this.#experiment(v)
  }

  /**
   * One experiment; kept locally when it beats the base, then confirmed on a second seed
   * (confirm.ts) before it is submitted, unless its gain is beyond doubt (submission.ts). A
   * volunteer that also verifies first takes a job when no verifier is waiting for one.
   */
  #experiment (v: Volunteer): void {
    if (this.#features.helpers) {
      const waiting = this.#features.held ? this.#verifiers.filter((m) => m.idle).length : 0
      const { job } = this.#coord.lease(v.identity, this.#onRebase, { help: true, verifiersWaiting: waiting })
      if (job !== null) {
        this.#count.helperJobs++
        this.#job(v, job, () => { this.#next(v) })
        return
      }
    }
    // A finished experiment is judged on the best it ran on even when a new one came meanwhile:
    // the worker keeps a find, confirms and submits it on that best (the coordinator carries
    // it), and moves on after (worker.ts `step`, follow.ts carries local gains over).
    this.#queue.after(this.#runMs, () => {
      this.#count.workerRuns++
      const gain = drawGain(this.#model, this.#random)
      const observed = observedGain(this.#model, this.#random, gain)
      if (observed <= 0) { this.#next(v); return }
      // A gain beyond doubt at the declared noise goes out on its one run (worker.ts `#beyondDoubt`);
      // the observed gain is read as the drop from `observed` to 0 of the sim-cost cause's minimised metric.
      if (beyondDoubtHere(this.#coord.manifest, observed, 0, this.#model.noise)) {
        this.#submit(v, gain)
        this.#next(v)
        return
      }
      // A gain within reach of the noise needs it: measured now when it is due (noise.ts `noiseNeeded`).
      // The base's run on the confirmation seed is cached per best (base-runs.ts).
      const noiseRuns = v.noiseDue ? NOISE_SEEDS : 0
      this.#count.followRuns += noiseRuns
      const runs = noiseRuns + (v.confirmBaseCached ? 1 : 2)
      v.noiseDue = false
      v.confirmBaseCached = true
      this.#queue.after(runs * this.#runMs, () => {
        this.#count.workerRuns += runs
        if (observedGain(this.#model, this.#random, gain) > this.#model.minImprovement) this.#submit(v, gain)
        this.#next(v)
      })
    })
  }

  #submit (v: Volunteer, gain: number): void {
    const claimed = (this.#truth.get(v.followed) as number) - gain + this.#random.gaussian(this.#model.noise)
    try {
      this.#gain.set(this.#coord.submit(v.identity, v.followed, claimed), gain)
      this.#changed('receipt')
    } catch (err) {
      if ((err as Error).name !== 'QuotaExceededError') throw err
      log('submission refused: %e', err)
      this.#count.refused++
    }
  }

  // verifiers ----------------------------------------------------------------------

  /** A rebase carries its candidate's true gain; a merge group's is its members' together (the model's changes add up). */
  readonly #onRebase: Carried = {
    rebased: (from, to) => {
      this.#count.rebases++
      this.#gain.set(to, this.#gain.get(from) as number)
      this.#changed('rebased')
    },
    grouped: (members, group) => {
      this.#count.groups++
      this.#gain.set(group, members.reduce((sum, m) => sum + (this.#gain.get(m) as number), 0))
      this.#changed('rebased')
    },
    // A candidate that passed on top of the one that merged: it merges without a job.
    promoted: ({ candidate }) => {
      this.#count.promoted++
      this.#merged(candidate, this.#truthOf(candidate.commit_oid))
    }
  }

  /** The true loss of a commit: a best's, or a candidate's on top of its parent (speculation measures against candidates). */
  #truthOf (commit: string): number {
    const known = this.#truth.get(commit)
    if (known !== undefined) return known
    const c = this.#coord.store.candidateByCommit(commit) as CandidateRow
    return this.#truthOf(c.parent_oid) - (this.#gain.get(c.seq) as number)
  }

  #merged (candidate: CandidateRow, loss: number): void {
    this.#best = candidate.commit_oid
    this.#bestBy = candidate.submitter
    this.#truth.set(this.#best, loss)
    this.#changed('merged')
  }

  /** What an event wakes: held requests as the coordinator wakes them (handlers/lease-holds.ts); pollers all ask within their interval. */
  #changed (type: 'receipt' | 'rebased' | 'verdict' | 'merged'): void {
    this.#wake(this.#features.held ? verifiersToWake({ type }, this.#coord.manifest.verification.quorum) : Infinity)
  }

  /**
   * Idle verifiers that ask for a lease: `n` of them, or all, those warm for the best first
   * (handlers/lease-holds.ts); a held request is answered at once, a poller asks within its interval.
   */
  #wake (n: number): void {
    let left = n
    const warmFirst = [...this.#verifiers.filter((v) => v.warmed === this.#best), ...this.#verifiers.filter((v) => v.warmed !== this.#best)]
    for (const v of warmFirst) {
      if (left <= 0) break
      if (!v.idle || v.waking) continue
      left--
      this.#schedule(v, this.#features.held ? 0 : this.#random.next() * POLL_MS)
    }
  }

  /** An idle verifier asks for work after `ms`; until then it is waking, so no second wake schedules it again. */
  #schedule (v: Verifier, ms: number): void {
    v.waking = true
    this.#queue.after(ms, () => { this.#lease(v) })
  }

  /** Held-back verifiers that look again (holder-waits.ts): those idle among `keys`, at once. */
  #wakeVerifiers (keys: string[]): void {
    const woken = new Set(keys)
    for (const v of this.#verifiers) {
      if (!woken.has(v.identity.publicKey) || !v.idle || v.waking) continue
      this.#schedule(v, 0)
    }
  }

  #lease (v: Verifier): void {
    v.waking = false
    // As the lease handler counts them (handlers/lease.ts): the other verifiers waiting for work.
    const idle = this.#verifiers.filter((m) => m.idle && m !== v).length
    const { job, forOthers } = this.#coord.lease(v.identity, this.#onRebase, { verifiersIdle: idle })
    v.idle = job === null
    if (job !== null) this.#job(v, job, () => { this.#lease(v) })
    else if (this.#features.warm) this.#warm(v)
    // The rest of a split round goes to the next idle verifier (LeaseHolds.relay).
    if (job !== null && forOthers) this.#wake(1)
  }

  /** An idle verifier the coordinator's roster wants warm runs the baselines of the next round on the best (its lease reply's `warm`), on its slots. */
  #warm (v: Verifier): void {
    if (v.warmed === this.#best || !this.#coord.mayWarm(v.identity)) return
    v.warmed = this.#best
    const base = this.#truth.get(this.#best) as number
    const seeds = warmRound(this.#coord.store, this.#best, this.#coord.manifest.verification, this.#coord.ctx.verifierMode).filter((seed) => !v.cache.has(`${this.#best}:${seed}`))
    // Each slot runs its share of the seeds one after another.
    const lanes: number[] = new Array(v.slots).fill(this.#queue.now)
    seeds.forEach((seed, i) => {
      const lane = i % v.slots
      lanes[lane] = (lanes[lane] as number) + this.#verifierRunMs()
      v.cache.set(`${this.#best}:${seed}`, { value: base + this.#random.gaussian(this.#model.noise), readyAt: lanes[lane] as number })
    })
    this.#count.verifierRuns += seeds.length
    this.#count.warmRuns += seeds.length
  }

  /**
   * One job, its pairs `slots` at a time: each a baseline run (unless cached for this best
   * and seed; a warm-up still running is waited for) and a candidate run. After each wave the
   * sequential rule may end the job; the pairs measured are attested.
   */
  #job (m: Machine, job: Job, then: () => void, measured: PairResult[] = []): void {
    const base = this.#truthOf(job.baseline)
    const candidate = base - (this.#gain.get(job.candidateSeq) as number)
    const wave = job.seeds.slice(measured.length, measured.length + m.slots)
    let longest = 0
    let runs = 0
    const now = this.#queue.now
    for (const seed of wave) {
      const key = `${job.baseline}:${seed}`
      const cached = m.cache.get(key)
      let wait = 0
      if (cached === undefined) {
        wait = this.#verifierRunMs()
        m.cache.set(key, { value: base + this.#random.gaussian(this.#model.noise), readyAt: now + wait })
        runs++
      } else {
        this.#count.cacheHits++
        // A job takes the slot before warm-ups still queued on it (verifier/src/slots.ts): it waits for
        // this seed's warm-up if it is running, and otherwise runs that baseline itself, which is then the
        // warm-up's run (counted when it was queued). Waiting for a queue of warm-ups overran the lease.
        wait = Math.min(Math.max(0, cached.readyAt - now), this.#runMs)
      }
      runs++
      const candidateMs = this.#verifierRunMs()
      longest = Math.max(longest, wait + candidateMs)
      const value = candidate + this.#random.gaussian(this.#model.noise)
      // As the verifier keeps it (verifier.ts `#pair`): this run is the commit's baseline on this seed once it is a best.
      if (this.#coord.manifest.verification.reuseCandidateRuns) m.cache.set(`${job.candidate}:${seed}`, { value, readyAt: now + wait + candidateMs })
      measured.push({ seed, baseline: (m.cache.get(key) as Cached).value, candidate: value })
    }
    this.#queue.after(longest, () => {
      this.#count.verifierRuns += runs
      const stop = endsEarly(this.#coord.manifest, measured, job.seeds.length, { accept: job.acceptEarly === true }) !== null
      if (!stop && measured.length < job.seeds.length) { this.#job(m, job, then, measured); return }
      if (stop && measured.length < job.seeds.length) this.#count.stoppedEarly++
      this.#count.jobs++
      const outcome = this.#coord.attest(m.identity, job, measured, this.#onRebase)
      if (outcome.merged !== undefined) {
        this.#merged(outcome.merged.candidate, candidate)
        this.#coord.afterMerge(this.#onRebase)
      } else this.#changed('verdict')
      then()
    })
  }

  // figures ------------------------------------------------------------------------

  #row (hours: number, events: number, capped: boolean): SimRow {
    const store = this.#coord.store
    const candidates = store.candidates()
    // What became of each submission: followed through its rebases and merge groups to where it stands.
    const states = new Map(candidates.map((c) => [c.seq, c]))
    const fate = (seq: number): string => {
      const c = states.get(seq) as CandidateRow
      const next = c.state === 'rebased' ? store.latestRebase(c.origin_seq ?? c.seq) : undefined
      return next === undefined || next === seq ? c.state : fate(next)
    }
    const submissions = candidates.filter((c) => c.origin_seq === null && c.submitter !== this.#coord.identity.publicKey)
    const outcomes = submissions.map((c) => fate(c.seq))
    const n = (...states: string[]): number => outcomes.filter((s) => states.includes(s)).length
    const belowMargin = submissions.filter((c, i) => outcomes[i] === 'merged' && (this.#gain.get(c.seq) as number) < this.#model.minImprovement).length
    const merges = store.standingMerges().length
    const mergedAt = new Map(store.merges().map((m) => [m.commit_oid, m.merged_at]))
    const ahead = candidates.filter((c) => c.state === 'merged' && store.jobsFor(c.seq).some((j) => j.state === 'done' && j.leased_at < (mergedAt.get(c.parent_oid) ?? 0))).length
    const workerSeconds = this.#count.workerRuns * this.#opts.runSeconds
    const verifierSeconds = this.#count.verifierRuns * this.#opts.runSeconds
    return {
      volunteers: this.#opts.volunteers,
      verifiers: this.#verifiers.length,
      hours: Number(hours.toFixed(2)),
      merges,
      mergesPerHour: Number((merges / hours).toFixed(3)),
      mergedPerHour: Number((n('merged') / hours).toFixed(3)),
      trueGainPerHour: Number(((START_LOSS - (this.#truth.get(this.#best) as number)) / hours).toFixed(4)),
      mergedBelowMargin: belowMargin,
      verifyShare: Number((verifierSeconds / Math.max(1, workerSeconds + verifierSeconds)).toFixed(3)),
      submitted: submissions.length,
      merged: n('merged'),
      rejected: n('rejected'),
      stale: n('stale'),
      queueAtEnd: n('queued', 'verifying', 'passed'),
      refused: this.#count.refused,
      rebases: this.#count.rebases,
      groups: this.#count.groups,
      ahead,
      promoted: this.#count.promoted,
      jobs: this.#count.jobs,
      stoppedEarly: this.#count.stoppedEarly,
      helperJobs: this.#count.helperJobs,
      heldForHolder: this.#coord.heldForHolder,
      verifierRuns: this.#count.verifierRuns,
      warmRuns: this.#count.warmRuns,
      cacheHits: this.#count.cacheHits,
      workerRuns: this.#count.workerRuns,
      followRuns: this.#count.followRuns,
      verdicts: candidates.filter((c) => c.verdict !== null).length,
      events,
      capped
    }
  }
}
