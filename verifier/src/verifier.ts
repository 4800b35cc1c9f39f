import { EventEmitter, setMaxListeners } from 'node:events'
import { join } from 'node:path'
import {
  changedPaths, commitTree, CoordinatorClient, endsEarly, ensureBareRepo, ProtectedPathError, protectedChanges, resultExtras, sha256Hex,
  type Hardware, type Identity, type InfoReply, type Job, type LeaseReply, type Trial, type Verdict, type WarmSeeds
} from '@autoresearch/protocol'
import { logger } from '@libp2p/logger'
import { runCommit, selectBackend, stopped, type SandboxBackend, type TrialResult } from '@autoresearch/runner'
import { BaselineCache } from './baseline-cache.ts'
import { slotDevices, Slots, verifierHardware, type Slot } from './slots.ts'

const log = logger('autoresearch:verifier')

export interface VerifierOptions {
  client: CoordinatorClient
  identity: Identity
  /** Holds the local cause repository, prepared data and scratch space. */
  stateDir: string
  /** Where trials run (default: the runner's bubblewrap sandbox; it refuses to start without one). */
  backend?: SandboxBackend
  /**
   * Reuse baseline results per (best commit, seed) across jobs, on disk across restarts
   * (default true), and warm them while idle with the seeds the coordinator pools for the
   * current best. False runs every baseline trial, warms nothing and neither reads nor
   * writes the cache: for measuring what the cache saves (`npm run bench -- verification`).
   */
  baselineCache?: boolean
  /** Pairs of one job run side by side on this many slots (default 1); with GPUs each slot has its own. */
  slots?: number
  /** Device ids the slots are spread over (default: CUDA_VISIBLE_DEVICES, else one per GPU found). */
  gpus?: string[]
  /** How long `run` lets the coordinator hold a lease request until there is work (default 20 s; it caps the wait). */
  waitMs?: number
  /**
   * A worker that also verifies (`autoresearch-worker --also-verify`): its lease requests say so,
   * and the coordinator gives it a job only when no verifier is waiting for one.
   */
  help?: boolean
  /**
   * What this machine is, sent with each lease request and attestation (default: detected,
   * slots.ts verifierHardware). A cause verified per hardware class leases only to its
   * reference class (docs/causes.md); `--hardware-class` sets the class from the command line.
   */
  hardware?: Hardware
}

export type VerifierEvent =
  | { type: 'idle', retryAfterMs: number }
  | { type: 'job', job: Job }
  | { type: 'trial', jobId: number, seed: number, side: 'baseline' | 'candidate', result: TrialResult, cached: boolean }
  | { type: 'warmed', best: string, seed: number, result: TrialResult }
  | { type: 'refused', jobId: number, reason: string }
  /** The pairs measured so far already decide the job (protocol's `endsEarly`): the rest were not run. */
  | { type: 'stopped', jobId: number, pairs: number, planned: number, verdict: 'rejected' | 'accepted', reason: string }
  | { type: 'attested', jobId: number, verdict: Verdict }

const EMPTY_DIGEST = sha256Hex('')
const DEFAULT_WAIT_MS = 20_000

/**
 * Leases verification jobs and re-runs them under the trusted runner: the baseline
 * (current best) and the candidate, on the same machine and slot, with the coordinator's
 * seeds; the pairs of a job run side by side on the slots.
 */
/** A run's extra result figures under `key`, or nothing when it failed or wrote none. */
function extrasOf<K extends 'baselineExtras' | 'candidateExtras'> (key: K, run: TrialResult): Partial<Record<K, Record<string, number>>> {
  const extras = run.ok ? resultExtras(run.result) : undefined
  return extras === undefined ? {} : { [key]: extras } as Partial<Record<K, Record<string, number>>>
}

export class Verifier extends EventEmitter<{ event: [VerifierEvent] }> {
  readonly #opts: VerifierOptions
  readonly #gitdir: string
  readonly #known = new Set<string>()
  #syncing: Promise<unknown> = Promise.resolve()
  readonly #cache?: BaselineCache
  #info?: InfoReply
  /** Detected once: nvidia-smi is not free to call before every lease. */
  readonly #hardware: Hardware
  readonly #slots: Slots
  /** Warm-ups under way; `run` waits for them before it returns. */
  readonly #warming = new Set<Promise<void>>()

  constructor (opts: VerifierOptions) {
    super()
    this.#opts = opts
    this.#hardware = opts.hardware ?? verifierHardware()
    this.#gitdir = join(opts.stateDir, 'cause.git')
    const backend = opts.backend ?? selectBackend()
    this.#slots = new Slots(opts.slots ?? 1, backend, opts.gpus ?? slotDevices(this.#hardware.gpus.length))
    if (opts.baselineCache !== false) this.#cache = new BaselineCache(join(opts.stateDir, 'baseline-cache.json'))
  }

  /** Cache hits and misses of job baselines since start (for benchmarks and logs); with the cache off every baseline is a miss. */
  readonly cacheStats = { hits: 0, misses: 0 }
  /** Baseline runs made ahead of jobs, from the coordinator's pooled seeds. */
  readonly warmStats = { runs: 0 }

  async #causeInfo (signal?: AbortSignal): Promise<InfoReply> {
    this.#info ??= await this.#opts.client.info({ signal })
    return this.#info
  }

  /** One fetch at a time: a warm-up and a job may want commits at once. */
  async #sync (commit: string, signal?: AbortSignal): Promise<void> {
    const turn = async (): Promise<void> => {
      if (this.#known.has(commit)) return
      // Held to the cause's limits, as the coordinator's intake is: a coordinator cannot fill our disk.
      await this.#opts.client.sync(this.#gitdir, commit, [...this.#known].slice(-256), { signal, limits: this.#info?.manifest.limits })
      this.#known.add(commit)
    }
    const run = this.#syncing.then(turn, turn)
    this.#syncing = run.catch((err) => { log('a fetch failed (its caller has the error): %e', err) })
    await run
  }

  /** Leases and completes at most one job, asking once; returns the delay before asking again (0 after a job). */
  async runOnce (signal?: AbortSignal): Promise<number> {
    const { attested, retryAfterMs } = await this.#leaseOnce({ signal })
    return attested ? 0 : retryAfterMs
  }

  /** One lease request (held up to `waitMs` by the coordinator) and, if it brings a job, the job. */
  async #leaseOnce (options: { signal?: AbortSignal, waitMs?: number, warmSignal?: AbortSignal }): Promise<{ attested: boolean, retryAfterMs: number }> {
    const { signal } = options
    await ensureBareRepo(this.#gitdir)
    const info = await this.#causeInfo(signal)
    const warm = options.warmSignal !== undefined && this.#cache !== undefined
    const reply: LeaseReply = await this.#opts.client.lease(this.#opts.identity, info.causeId, this.#hardware, { signal, waitMs: options.waitMs, warm, warmBest: this.#warmBest, help: this.#opts.help })
    const { job, retryAfterMs } = reply
    if (job === null) {
      this.emit('event', { type: 'idle', retryAfterMs })
      if (reply.warm !== undefined && options.warmSignal !== undefined) this.#warm(info, reply.warm, options.warmSignal)
      return { attested: false, retryAfterMs }
    }
    this.emit('event', { type: 'job', job })
    this.#yieldToJob(job)
    await this.#sync(job.baseline, signal)
    await this.#sync(job.candidate, signal)
    const trials = await this.#verify(info, job, signal)
    const { verdict } = await this.#opts.client.attest(this.#opts.identity, {
      causeId: info.causeId, jobId: job.jobId, candidate: job.candidate, baseline: job.baseline, trials, hardware: this.#hardware
    }, { signal })
    this.emit('event', { type: 'attested', jobId: job.jobId, verdict })
    return { attested: true, retryAfterMs: 0 }
  }

  async #verify (info: InfoReply, job: Job, signal?: AbortSignal): Promise<Trial[]> {
    // The coordinator checked this at intake; a verifier trusts no one and checks again.
    const { parents } = await commitTree(this.#gitdir, job.candidate)
    const parent = parents[0] ?? job.baseline
    const changes = await changedPaths(this.#gitdir, parent, job.candidate)
    const refused = protectedChanges(info.manifest, changes)
    if (refused.length > 0) {
      const reason = new ProtectedPathError(`candidate changes protected paths: ${refused.map((c) => c.path).join(', ')}`).message
      this.emit('event', { type: 'refused', jobId: job.jobId, reason })
      return job.seeds.map((seed) => ({ seed, baseline: null, candidate: null, baselineLogDigest: EMPTY_DIGEST, candidateLogDigest: EMPTY_DIGEST, failure: reason }))
    }
    return await this.#pairs(info, job, signal)
  }

  /**
   * Each pair holds one slot for both its runs. After each pair the sequential rule may end
   * the job (with an acceptance only where the job allows one): pairs still running or waiting are stopped, and only those measured before
   * the decision are reported (in seed order, the set the rule decided on), so the
   * coordinator reaches the same decision from the attestation.
   */
  async #pairs (info: InfoReply, job: Job, signal?: AbortSignal): Promise<Trial[]> {
    const stop = new AbortController()
    const pairSignal = signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal])
    // Every pair listens on it while it waits for a slot, and each running step too: a job of
    // more than ten trials legitimately has more listeners than Node's default warns at.
    setMaxListeners(2 * job.seeds.length + 10, pairSignal)
    const done = new Map<number, Trial>()
    const measured = (): Trial[] => job.seeds.flatMap((_, i) => done.get(i) ?? [])
    await Promise.all(job.seeds.map(async (seed, i) => {
      try {
        // Decided before the slot is let go, so a pair waiting for it never starts after the stop.
        await this.#slots.use('job', async (slot) => {
          const trial = await this.#pair(info, job, seed, slot, pairSignal)
          if (stop.signal.aborted) return
          done.set(i, trial)
          const end = endsEarly(info.manifest, measured(), job.seeds.length, { accept: job.acceptEarly === true })
          if (end === null) return
          stop.abort()
          this.emit('event', { type: 'stopped', jobId: job.jobId, pairs: done.size, planned: job.seeds.length, verdict: end.verdict, reason: end.reason })
        }, { signal: pairSignal })
      } catch (err) {
        if (!stop.signal.aborted || signal?.aborted === true) throw err
      }
    }))
    return measured()
  }

  async #pair (info: InfoReply, job: Job, seed: number, slot: Slot, signal?: AbortSignal): Promise<Trial> {
    const baseline = await this.#baseline(info, job, seed, slot, signal)
    // A run this verifier stopped (it stops, or the job ended early) is no failed trial: it is never attested.
    const candidate = stopped(await this.#runCommit(info, job.candidate, job.baseline, seed, slot, signal), signal)
    this.emit('event', { type: 'trial', jobId: job.jobId, seed, side: 'candidate', result: candidate, cached: false })
    // The very run a baseline of this commit on this seed would be: a candidate changes no protected
    // file (#verify checked), so its own and the best's protected files are the same. The coordinator
    // then offers these seeds first on this commit (coordinator/src/seeds.ts).
    if (info.manifest.verification.reuseCandidateRuns) this.#cache?.keep(BaselineCache.key(job.candidate, seed), candidate)
    const failure = [baseline.ok ? '' : `baseline ${baseline.reason}: ${baseline.message}`, candidate.ok ? '' : `candidate ${candidate.reason}: ${candidate.message}`].filter(Boolean).join('; ')
    return {
      seed,
      baseline: baseline.ok ? baseline.metric : null,
      candidate: candidate.ok ? candidate.metric : null,
      baselineLogDigest: baseline.logDigest,
      candidateLogDigest: candidate.logDigest,
      ...(failure === '' ? {} : { failure: failure.slice(0, 500) }),
      // Figures evaluate wrote beside the metric (params, ...), for the site to show.
      ...extrasOf('baselineExtras', baseline), ...extrasOf('candidateExtras', candidate)
    }
  }

  /** The job's baseline run for `seed`: from the cache, or a warm-up of it under way, else run now. */
  async #baseline (info: InfoReply, job: Job, seed: number, slot: Slot, signal?: AbortSignal): Promise<TrialResult> {
    const cache = this.#cache
    const key = BaselineCache.key(job.baseline, seed)
    const hit = await cache?.get(key)
    const cached = hit?.ok === true ? hit : undefined
    const run = async (): Promise<TrialResult> => await this.#runCommit(info, job.baseline, job.baseline, seed, slot, signal)
    const result = stopped(cached ?? (cache === undefined ? await run() : await cache.run(key, run)), signal)
    if (cached !== undefined) this.cacheStats.hits++
    else this.cacheStats.misses++
    this.emit('event', { type: 'trial', jobId: job.jobId, seed, side: 'baseline', result, cached: cached !== undefined })
    return result
  }

  /** Runs `commit` with the protected files of `protectedCommit` (the best: both sides are evaluated by its files). */
  async #runCommit (info: InfoReply, commit: string, protectedCommit: string, seed: number, slot: Slot, signal?: AbortSignal): Promise<TrialResult> {
    return await runCommit({
      gitdir: this.#gitdir, commit, manifest: info.manifest, seed,
      dataRoot: join(this.#opts.stateDir, 'data'), scratchRoot: join(this.#opts.stateDir, 'scratch'),
      backend: slot.backend, signal, protectedFrom: { gitdir: this.#gitdir, commit: protectedCommit }
    }).catch((err: unknown): TrialResult => {
      // A runner that throws must not leave the job unfinished: the trial is attested as a failure that says why.
      if (signal?.aborted === true) throw err
      log.error('the runner failed on %s (seed %d): %e', commit, seed, err)
      const message = `the runner failed: ${(err as Error).message}`.slice(0, 400)
      return { ok: false, reason: 'runner-error', message, logDigest: sha256Hex(message), logTail: message, durationMs: 0 }
    })
  }

  /** The best the last warm seeds were for: warm-ups still queued for an older best are dropped. */
  #warmBest?: string
  /** Warm-up runs in progress, by cache key: a job stops those it does not need, so its pairs start at once. */
  readonly #warmRuns = new Map<string, AbortController>()

  #yieldToJob (job: Job): void {
    const needed = new Set(job.seeds.map((seed) => BaselineCache.key(job.baseline, seed)))
    for (const [key, controller] of this.#warmRuns) if (!needed.has(key)) controller.abort()
  }

  /**
   * Runs the baselines of the coordinator's pooled seeds for the current best on slots no
   * job wants, so a job on this best mostly costs its candidate runs.
   */
  #warm (info: InfoReply, warm: WarmSeeds, signal: AbortSignal): void {
    const cache = this.#cache
    if (cache === undefined) return
    this.#warmBest = warm.best
    for (const seed of warm.seeds) {
      const key = BaselineCache.key(warm.best, seed)
      if (cache.has(key)) continue
      const task = this.#slots.use('warm', async (slot) => {
        if (this.#warmBest !== warm.best) return
        await this.#sync(warm.best, signal)
        if (cache.has(key)) return
        const controller = new AbortController()
        this.#warmRuns.set(key, controller)
        try {
          const warming = AbortSignal.any([signal, controller.signal])
          // One stopped (a job wanted the slot, or the verifier stops) warmed nothing: not a run to report.
          const result = stopped(await cache.run(key, async () => await this.#runCommit(info, warm.best, warm.best, seed, slot, warming)), warming)
          this.warmStats.runs++
          this.emit('event', { type: 'warmed', best: warm.best, seed, result })
        } finally {
          this.#warmRuns.delete(key)
        }
      }, { signal }).catch((err: unknown) => {
        // A warm-up is an optimisation: the job runs the baseline itself.
        log('warming %s seed %d stopped: %e', warm.best, seed, err)
      })
      this.#warming.add(task)
      void task.finally(() => this.#warming.delete(task))
    }
  }

  /**
   * Works until `signal` aborts or `maxJobs` jobs are attested. Each lease request is held
   * by the coordinator until there is work (up to `waitMs`), so nothing here sleeps on a
   * timer; only a coordinator that does not hold requests is asked again after its `retryAfterMs`.
   */
  async run (opts: { signal?: AbortSignal, maxJobs?: number } = {}): Promise<number> {
    const warming = new AbortController()
    // Every queued warm-up listens on it (up to the pool's size).
    setMaxListeners(Infinity, warming.signal)
    const stop = (): void => { warming.abort() }
    opts.signal?.addEventListener('abort', stop, { once: true })
    let done = 0
    try {
      while (opts.signal?.aborted !== true && (opts.maxJobs === undefined || done < opts.maxJobs)) {
        const outcome = await this.#leaseOnce({ signal: opts.signal, waitMs: this.#opts.waitMs ?? DEFAULT_WAIT_MS, warmSignal: warming.signal }).catch((err: unknown) => {
          // Stopping ends the held request (or the job) it was in: that is the way out, not a failure.
          if (opts.signal?.aborted !== true) throw err
          log('stopped: %e', err)
          return undefined
        })
        if (outcome === undefined) break
        if (outcome.attested) done++
        else if (outcome.retryAfterMs > 0) await sleep(outcome.retryAfterMs, opts.signal)
      }
    } finally {
      opts.signal?.removeEventListener('abort', stop)
      warming.abort()
      await Promise.allSettled([...this.#warming])
    }
    return done
  }
}

export async function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    // The listener goes with the timer: left on the run's long-lived signal, one per retry would pile up (MaxListenersExceededWarning).
    const done = (): void => { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve() }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}
