import { EventEmitter } from 'node:events'
import * as fs from 'node:fs'
import { join } from 'node:path'
import {
  changedPaths, commitTree, CoordinatorClient, ensureBareRepo, ProtectedPathError, protectedChanges, sha256Hex,
  type Identity, type InfoReply, type Job, type Trial, type Verdict
} from '@autoresearch/protocol'
import { logger } from '@libp2p/logger'
import { runCommit, selectBackend, type SandboxBackend, type TrialResult } from '@autoresearch/runner'
import { describeHardware } from '@autoresearch/protocol'

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
   * (default true). False runs every baseline trial and neither reads nor writes the
   * cache: for measuring what the cache saves (`npm run bench -- verification`).
   */
  baselineCache?: boolean
}

export type VerifierEvent =
  | { type: 'idle', retryAfterMs: number }
  | { type: 'job', job: Job }
  | { type: 'trial', jobId: number, seed: number, side: 'baseline' | 'candidate', result: TrialResult, cached: boolean }
  | { type: 'refused', jobId: number, reason: string }
  | { type: 'attested', jobId: number, verdict: Verdict }

const EMPTY_DIGEST = sha256Hex('')
/** Baseline results kept on disk per (best commit, seed). */
const MAX_CACHED = 5000

/**
 * Leases verification jobs and re-runs them under the trusted runner: the baseline
 * (current best) and the candidate, on the same machine, with the coordinator's seeds.
 */
export class Verifier extends EventEmitter<{ event: [VerifierEvent] }> {
  readonly #opts: VerifierOptions
  readonly #gitdir: string
  readonly #known = new Set<string>()
  /** Baseline results per (best commit, seed), kept across restarts: a warm cache makes a trial cost about one run. */
  readonly #baselineCache = new Map<string, TrialResult>()
  #info?: InfoReply

  readonly #cachePath: string
  /** Detected once: nvidia-smi is not free to call before every lease. */
  readonly #hardware = describeHardware()
  readonly #backend: SandboxBackend

  constructor (opts: VerifierOptions) {
    super()
    this.#opts = opts
    this.#gitdir = join(opts.stateDir, 'cause.git')
    this.#backend = opts.backend ?? selectBackend()
    this.#cachePath = join(opts.stateDir, 'baseline-cache.json')
    if (this.#cacheOn) this.#loadCache()
  }

  get #cacheOn (): boolean { return this.#opts.baselineCache !== false }

  /** Cache hits and misses of baseline runs since start (for benchmarks and logs); with the cache off every baseline is a miss. */
  readonly cacheStats = { hits: 0, misses: 0 }

  #loadCache (): void {
    try {
      const entries = JSON.parse(fs.readFileSync(this.#cachePath, 'utf8')) as Array<[string, TrialResult]>
      for (const [key, result] of entries.slice(-MAX_CACHED)) if (result.ok) this.#baselineCache.set(key, result)
    } catch (err) {
      // No cache yet, or an unreadable one: start cold.
      log('no baseline cache read from %s: %e', this.#cachePath, err)
    }
  }

  #saveCache (): void {
    fs.mkdirSync(this.#opts.stateDir, { recursive: true })
    const tmp = `${this.#cachePath}.tmp`
    fs.writeFileSync(tmp, JSON.stringify([...this.#baselineCache].slice(-MAX_CACHED)))
    fs.renameSync(tmp, this.#cachePath)
  }

  async #causeInfo (signal?: AbortSignal): Promise<InfoReply> {
    this.#info ??= await this.#opts.client.info({ signal })
    return this.#info
  }

  async #sync (commit: string, signal?: AbortSignal): Promise<void> {
    if (this.#known.has(commit)) return
    // Held to the cause's limits, as the coordinator's intake is: a coordinator cannot fill our disk.
    await this.#opts.client.sync(this.#gitdir, commit, [...this.#known].slice(-256), { signal, limits: this.#info?.manifest.limits })
    this.#known.add(commit)
  }

  /** Leases and completes at most one job; returns the delay before asking again (0 after a job). */
  async runOnce (signal?: AbortSignal): Promise<number> {
    await ensureBareRepo(this.#gitdir)
    const info = await this.#causeInfo(signal)
    const { job, retryAfterMs } = await this.#opts.client.lease(this.#opts.identity, info.causeId, this.#hardware, { signal })
    if (job === null) {
      this.emit('event', { type: 'idle', retryAfterMs })
      return retryAfterMs
    }
    this.emit('event', { type: 'job', job })
    await this.#sync(job.baseline, signal)
    await this.#sync(job.candidate, signal)
    const trials = await this.#verify(info, job, signal)
    const { verdict } = await this.#opts.client.attest(this.#opts.identity, {
      causeId: info.causeId, jobId: job.jobId, candidate: job.candidate, baseline: job.baseline, trials, hardware: this.#hardware
    }, { signal })
    this.emit('event', { type: 'attested', jobId: job.jobId, verdict })
    return 0
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
    const trials: Trial[] = []
    for (const seed of job.seeds) {
      const baseline = await this.#run(info, job, job.baseline, seed, 'baseline', signal)
      const candidate = await this.#run(info, job, job.candidate, seed, 'candidate', signal)
      const failure = [baseline.ok ? '' : `baseline ${baseline.reason}: ${baseline.message}`, candidate.ok ? '' : `candidate ${candidate.reason}: ${candidate.message}`].filter(Boolean).join('; ')
      trials.push({
        seed,
        baseline: baseline.ok ? baseline.metric : null,
        candidate: candidate.ok ? candidate.metric : null,
        baselineLogDigest: baseline.logDigest,
        candidateLogDigest: candidate.logDigest,
        ...(failure === '' ? {} : { failure: failure.slice(0, 500) })
      })
    }
    return trials
  }

  async #run (info: InfoReply, job: Job, commit: string, seed: number, side: 'baseline' | 'candidate', signal?: AbortSignal): Promise<TrialResult> {
    const key = `${commit}:${seed}`
    const cached = side === 'baseline' && this.#cacheOn ? this.#baselineCache.get(key) : undefined
    // Both sides are evaluated by the baseline's (the best's) protected files.
    const result = cached ?? await runCommit({
      gitdir: this.#gitdir, commit, manifest: info.manifest, seed,
      dataRoot: join(this.#opts.stateDir, 'data'), scratchRoot: join(this.#opts.stateDir, 'scratch'),
      backend: this.#backend, signal, protectedFrom: { gitdir: this.#gitdir, commit: job.baseline }
    }).catch((err: unknown): TrialResult => {
      // A runner that throws must not leave the job unfinished: the trial is attested as a failure that says why.
      if (signal?.aborted === true) throw err
      log.error('the runner failed on %s (seed %d): %e', commit, seed, err)
      const message = `the runner failed: ${(err as Error).message}`.slice(0, 400)
      return { ok: false, reason: 'runner-error', message, logDigest: sha256Hex(message), logTail: message, durationMs: 0 }
    })
    if (side === 'baseline') {
      if (cached !== undefined) this.cacheStats.hits++
      else this.cacheStats.misses++
      if (cached === undefined && result.ok && this.#cacheOn) {
        this.#baselineCache.set(key, result)
        this.#saveCache()
      }
    }
    this.emit('event', { type: 'trial', jobId: job.jobId, seed, side, result, cached: cached !== undefined })
    return result
  }

  /** Works until `signal` aborts or `maxJobs` jobs are attested. */
  async run (opts: { signal?: AbortSignal, maxJobs?: number } = {}): Promise<number> {
    let done = 0
    while (opts.signal?.aborted !== true && (opts.maxJobs === undefined || done < opts.maxJobs)) {
      const wait = await this.runOnce(opts.signal)
      if (wait === 0) done++
      else await sleep(wait, opts.signal)
    }
    return done
  }
}

export async function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => { clearTimeout(timer); resolve() }, { once: true })
  })
}
