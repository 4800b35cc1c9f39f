/**
 * One simulated network: N volunteers (search workers) and max(1, N/4) verifiers against
 * the real coordinator code (coordinator.ts here), on a virtual clock. Returns what the
 * simulate bench reports per row.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Identity, type Job } from '@autoresearch/protocol'
import { logger } from '@libp2p/logger'
import { Store } from '../../../coordinator/src/store/index.ts'
import { EventQueue, Random, withVirtualClock } from './clock.ts'
import { SimCoordinator, simManifest } from './coordinator.ts'
import { drawGain, FOLLOW_RUNS, observedGain, type ModelOptions } from './model.ts'

const log = logger('autoresearch:bench:simulate')

export interface SimOptions extends Omit<ModelOptions, 'minImprovement'> {
  volunteers: number
  /** Default max(1, floor(volunteers / 4)), as the scaling bench. */
  verifiers?: number
  hours: number
  seed: number
  trials: number
  /** Hard caps on events and on wall-clock seconds; a run that hits one reports `capped` and the simulated hours it reached. */
  maxEvents: number
  maxWallSeconds?: number
}

export interface SimRow {
  volunteers: number
  verifiers: number
  hours: number
  merges: number
  mergesPerHour: number
  /** Verifier sandbox seconds over all sandbox seconds (workers' and verifiers'). */
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
  jobs: number
  verifierRuns: number
  cacheHits: number
  workerRuns: number
  /** Of the workers' runs, those spent measuring each new best (3 per worker per merge). */
  followRuns: number
  /** Candidates with a verdict stored by the real attest(). */
  verdicts: number
  events: number
  capped: boolean
}

const HOUR = 3600 * 1000
/** Verifiers poll for work every 2 s (handlers/lease.ts retryAfterMs); one woken by new work asks within that. */
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

interface Verifier { identity: Identity, cache: Map<string, number>, idle: boolean, waking: boolean }
interface Volunteer { identity: Identity, followed: string, confirmBaseCached: boolean }

class Simulation {
  readonly #queue: EventQueue
  readonly #opts: SimOptions
  readonly #model: ModelOptions
  readonly #random: Random
  readonly #coord: SimCoordinator
  readonly #verifiers: Verifier[]
  /** True loss of every best commit, and each candidate's true gain over its parent. */
  readonly #truth = new Map<string, number>()
  readonly #gain = new Map<number, number>()
  #best: string
  readonly #count = { refused: 0, rebases: 0, jobs: 0, verifierRuns: 0, cacheHits: 0, workerRuns: 0, followRuns: 0 }

  constructor (store: Store, queue: EventQueue, opts: SimOptions) {
    this.#queue = queue
    this.#opts = opts
    const manifest = simManifest(opts.trials)
    this.#model = { ...opts, minImprovement: manifest.verification.minImprovement }
    this.#random = new Random(opts.seed)
    const count = opts.verifiers ?? Math.max(1, Math.floor(opts.volunteers / 4))
    this.#verifiers = Array.from({ length: count }, () => ({ identity: Identity.generate(), cache: new Map(), idle: true, waking: false }))
    this.#coord = new SimCoordinator(store, { manifest, verifiers: this.#verifiers.map((v) => v.identity), conflict: opts.c, random: () => this.#random.next(), runSeconds: opts.runSeconds })
    this.#best = this.#coord.best()
    this.#truth.set(this.#best, 4.3)
  }

  get #runMs (): number { return this.#opts.runSeconds * 1000 }

  run (): SimRow {
    const start = this.#queue.now
    for (let i = 0; i < this.#opts.volunteers; i++) {
      const v: Volunteer = { identity: Identity.generate(), followed: this.#best, confirmBaseCached: false }
      // Volunteers join within the first run, not all in the same millisecond.
      this.#queue.after(this.#random.next() * this.#runMs, () => { this.#follow(v) })
    }
    const deadline = performance.now() + (this.#opts.maxWallSeconds ?? Infinity) * 1000
    const { ran, early } = this.#queue.run(start + this.#opts.hours * HOUR, this.#opts.maxEvents, () => performance.now() > deadline)
    return this.#row((this.#queue.now - start) / HOUR, ran, early)
  }

  // volunteers ---------------------------------------------------------------------

  /** A new best: measure it and this machine's noise (follow.ts), then experiment. */
  #follow (v: Volunteer): void {
    v.followed = this.#best
    v.confirmBaseCached = false
    this.#count.followRuns += FOLLOW_RUNS
    this.#runs(v, FOLLOW_RUNS, () => { this.#experiment(v) })
  }

  #runs (v: Volunteer, n: number, then: () => void): void {
    this.#queue.after(n * this.#runMs, () => {
      this.#count.workerRuns += n
      // The worker learns of a new best between operations: work on the old one is dropped.
      if (this.#best !== v.followed) this.#follow(v)
      else then()
    })
  }

  /** One experiment; kept locally when it beats the base, then confirmed on a second seed (confirm.ts) before it is submitted. */
  #experiment (v: Volunteer): void {
    this.#runs(v, 1, () => {
      const gain = drawGain(this.#model, this.#random)
      if (observedGain(this.#model, this.#random, gain) <= 0) { this.#experiment(v); return }
      // The base's run on the confirmation seed is cached per best (base-runs.ts).
      const runs = v.confirmBaseCached ? 1 : 2
      v.confirmBaseCached = true
      this.#queue.after(runs * this.#runMs, () => {
        this.#count.workerRuns += runs
        if (observedGain(this.#model, this.#random, gain) > this.#model.minImprovement) this.#submit(v, gain)
        if (this.#best !== v.followed) this.#follow(v)
        else this.#experiment(v)
      })
    })
  }

  #submit (v: Volunteer, gain: number): void {
    const claimed = (this.#truth.get(v.followed) as number) - gain + this.#random.gaussian(this.#model.noise)
    try {
      this.#gain.set(this.#coord.submit(v.identity, v.followed, claimed), gain)
      this.#wake(1)
    } catch (err) {
      if ((err as Error).name !== 'QuotaExceededError') throw err
      log('submission refused: %e', err)
      this.#count.refused++
    }
  }

  // verifiers ----------------------------------------------------------------------

  readonly #onRebase = (from: number, to: number): void => {
    this.#count.rebases++
    this.#gain.set(to, this.#gain.get(from) as number)
  }

  /** Idle verifiers that ask for a lease within one poll interval: `n` of them, or all. */
  #wake (n: number): void {
    let left = n
    for (const v of this.#verifiers) {
      if (left <= 0) break
      if (!v.idle || v.waking) continue
      v.waking = true
      left--
      this.#queue.after(this.#random.next() * POLL_MS, () => { this.#lease(v) })
    }
  }

  #lease (v: Verifier): void {
    v.waking = false
    const job = this.#coord.lease(v.identity, this.#onRebase)
    v.idle = job === null
    if (job !== null) this.#work(v, job)
  }

  /** One job: each trial a baseline run (unless cached for this best and seed) and a candidate run, one after another. */
  #work (v: Verifier, job: Job): void {
    const base = this.#truth.get(job.baseline) as number
    const candidate = base - (this.#gain.get(job.candidateSeq) as number)
    let runs = 0
    const trials = job.seeds.map((seed) => {
      const key = `${job.baseline}:${seed}`
      let baseline = v.cache.get(key)
      if (baseline === undefined) {
        baseline = base + this.#random.gaussian(this.#model.noise)
        v.cache.set(key, baseline)
        runs++
      } else this.#count.cacheHits++
      runs++
      return { seed, baseline, candidate: candidate + this.#random.gaussian(this.#model.noise) }
    })
    this.#queue.after(runs * this.#runMs, () => {
      this.#count.jobs++
      this.#count.verifierRuns += runs
      const outcome = this.#coord.attest(v.identity, job, trials, this.#onRebase)
      if (outcome.merged !== undefined) {
        this.#best = outcome.merged.candidate.commit_oid
        this.#truth.set(this.#best, candidate)
        this.#wake(Infinity)
      } else if (outcome.verdict.state === 'pending' || outcome.passedOnStaleParent !== undefined) this.#wake(Infinity)
      this.#lease(v)
    })
  }

  // figures ------------------------------------------------------------------------

  #row (hours: number, events: number, capped: boolean): SimRow {
    const store = this.#coord.store
    const candidates = store.candidates()
    // What became of each submission: the state of its latest rebase, or its own.
    const latest = new Map<number, string>()
    for (const c of candidates) latest.set(c.origin_seq ?? c.seq, c.state)
    const outcomes = [...latest.values()]
    const n = (...states: string[]): number => outcomes.filter((s) => states.includes(s)).length
    const merges = store.standingMerges().length
    const workerSeconds = this.#count.workerRuns * this.#opts.runSeconds
    const verifierSeconds = this.#count.verifierRuns * this.#opts.runSeconds
    return {
      volunteers: this.#opts.volunteers,
      verifiers: this.#verifiers.length,
      hours: Number(hours.toFixed(2)),
      merges,
      mergesPerHour: Number((merges / hours).toFixed(3)),
      verifyShare: Number((verifierSeconds / Math.max(1, workerSeconds + verifierSeconds)).toFixed(3)),
      submitted: latest.size,
      merged: n('merged'),
      rejected: n('rejected'),
      stale: n('stale'),
      queueAtEnd: n('queued', 'verifying'),
      refused: this.#count.refused,
      rebases: this.#count.rebases,
      jobs: this.#count.jobs,
      verifierRuns: this.#count.verifierRuns,
      cacheHits: this.#count.cacheHits,
      workerRuns: this.#count.workerRuns,
      followRuns: this.#count.followRuns,
      verdicts: candidates.filter((c) => c.verdict !== null).length,
      events,
      capped
    }
  }
}
