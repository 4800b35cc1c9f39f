/**
 * Shared by the scaling and verification benchmarks (and tests/scaling.test.ts): a
 * coordinator on loopback hosting the sim-cost cause, its verifier and N search workers
 * in this process over real libp2p, every trial run in the real sandbox and counted.
 */
import { setMaxListeners } from 'node:events'
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Identity, retryWithBackoff } from '@autoresearch/protocol'
import { selectBackend, type SandboxBackend } from '@autoresearch/runner'
import { searchAgent, Worker } from 'autoresearch-worker'
import { Verifier } from 'autoresearch-verifier'
import { setConstant, TestNetwork } from '../../tests/network.ts'

export const SIM_COST = resolve(import.meta.dirname, '..', 'causes', 'sim-cost')

/**
 * A copy of the sim-cost cause whose runs cost `trainSeconds` (the sleep is in its protected
 * harness); `noise` sets the metric's seed noise σ (default 0.01), `start` the constants of
 * train.py (default far from the optimum).
 */
export function simCostCause (trainSeconds: number, opts: { noise?: number, start?: Record<string, number> } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'ar-sim-cost-'))
  cpSync(SIM_COST, dir, { recursive: true })
  const set = (file: string, name: string, value: number): void => {
    const path = join(dir, file)
    writeFileSync(path, setConstant(name, value)(readFileSync(path, 'utf8')))
  }
  set('harness.py', 'TRAIN_SECONDS', trainSeconds)
  if (opts.noise !== undefined) set('evaluate.py', 'NOISE', opts.noise)
  for (const [name, value] of Object.entries(opts.start ?? {})) set('train.py', name, value)
  return dir
}

/** Trials actually run (cache hits never reach the backend) and sandbox seconds of all their steps. */
export interface Tally { runs: number, seconds: number }

/** Counts what a backend runs: one run per train step, seconds of every step (train and evaluate). */
export function countingBackend (inner: SandboxBackend, tally: Tally, trainCommand: string[]): SandboxBackend {
  const train = trainCommand.join('\0')
  return {
    name: inner.name,
    run: async (spec) => {
      const outcome = await inner.run(spec)
      tally.seconds += outcome.durationMs / 1000
      if (spec.command.join('\0') === train) tally.runs++
      return outcome
    }
  }
}

export interface RaceOptions {
  /** A sim-cost copy from simCostCause(). */
  cause: string
  workers: number
  /** Seeds the workers' search agents: worker i of a race with seed s searches like worker i of any other race with s. */
  seed: number
  /** Stop when the best metric is at or below this, or after this many merges. */
  target?: number
  merges?: number
  timeoutSeconds: number
  baselineCache?: boolean
  log?: (line: string) => void
}

export interface RaceResult {
  reached: boolean
  /** From the workers' start to the merge that reached the target (or to the timeout). */
  seconds: number
  merges: number
  bestMetric: number | null
  experiments: number
  submissions: number
  workerSide: Tally
  verifierSide: Tally
  /** Verification jobs attested, and baseline trials the cache answered (with the sandbox seconds they once cost). */
  jobs: number
  cache: { hits: number, misses: number, savedSeconds: number }
  /** Errors that interrupted a worker's or verifier's loop (each resumed a second later). */
  errors: string[]
}

const round = (x: number, digits = 2): number => Number(x.toFixed(digits))

/** Runs one network until the target metric or merge count, then stops everything and reports. */
export async function race (opts: RaceOptions): Promise<RaceResult> {
  const log = opts.log ?? (() => {})
  const manifest = JSON.parse(readFileSync(join(opts.cause, 'autoresearch.json'), 'utf8')) as { train: { command: string[] } }
  const net = await TestNetwork.start(opts.cause)
  const sandbox = selectBackend()
  const workerSide: Tally = { runs: 0, seconds: 0 }
  const verifierSide: Tally = { runs: 0, seconds: 0 }
  const controller = new AbortController()
  // Every worker and verifier listens on it.
  setMaxListeners(0, controller.signal)
  const errors: string[] = []
  /** Like the CLIs: an error is logged and the loop goes on, here always after a second. */
  const keepRunning = async (who: string, loop: () => Promise<unknown>): Promise<void> => retryWithBackoff(async () => { await loop() }, {
    signal: controller.signal,
    done: () => false,
    minMs: 1000,
    maxMs: 1000,
    onError: (err) => {
      errors.push(`${who}: ${err.name}: ${err.message}`)
      log(`  ${who}: ${err.message}`)
    }
  })

  // The host's own verifier, the one the coordinator allowlists by default.
  const verifier = new Verifier({
    client: await net.client(net.verifierIdentity), identity: net.verifierIdentity, stateDir: join(net.scratch, 'verifier'),
    backend: countingBackend(sandbox, verifierSide, manifest.train.command), baselineCache: opts.baselineCache
  })
  const workers = await Promise.all(Array.from({ length: opts.workers }, async (_, i) => {
    const identity = Identity.generate()
    const worker = new Worker({
      client: await net.client(identity), identity, agent: searchAgent({ seed: opts.seed * 1000 + i }), seed: 10 * i + 1,
      stateDir: join(net.scratch, `worker-${i}`), backend: countingBackend(sandbox, workerSide, manifest.train.command), name: `w${i}`
    })
    worker.on('event', (e) => { if (e.type === 'submitted') log(`  w${i} submitted #${e.receipt.candidateSeq} claiming ${e.claimedMetric.toFixed(3)}`) })
    return worker
  }))
  const coordinator = net.running.coordinator
  let jobs = 0
  let savedSeconds = 0
  verifier.on('event', (e) => { if (e.type === 'trial' && e.cached) savedSeconds += e.result.durationMs / 1000 })
  const done = (): boolean => {
    const status = coordinator.status()
    return (opts.target !== undefined && status.best.metric !== null && status.best.metric <= opts.target) ||
      (opts.merges !== undefined && status.merges >= opts.merges)
  }
  // Taken inside the coordinator's event, before the verifier hears its verdict: what runs
  // after it (the next job, the experiments in flight) is not part of the race.
  const snapshot = (): RaceResult => {
    const status = coordinator.status()
    return {
      reached: done(),
      seconds: round((performance.now() - started) / 1000),
      merges: status.merges,
      bestMetric: status.best.metric === null ? null : round(status.best.metric, 4),
      experiments: workers.reduce((a, w) => a + w.experiments, 0),
      submissions: workers.reduce((a, w) => a + w.submissions, 0),
      workerSide: { runs: workerSide.runs, seconds: round(workerSide.seconds, 1) },
      verifierSide: { runs: verifierSide.runs, seconds: round(verifierSide.seconds, 1) },
      jobs,
      cache: { ...verifier.cacheStats, savedSeconds: round(savedSeconds, 1) },
      errors: [...errors]
    }
  }
  let finish!: (result: RaceResult) => void
  const finished = new Promise<RaceResult>((resolve) => { finish = resolve })
  coordinator.on('event', (e) => {
    if (e.type === 'verdict') jobs++
    if (e.type !== 'merged') return
    log(`  merged #${e.candidateSeq}: ${e.baselineMetric.toFixed(3)} -> ${e.metric.toFixed(3)}`)
    if (done()) finish(snapshot())
  })
  const started = performance.now()
  const timer = setTimeout(() => { finish(snapshot()) }, opts.timeoutSeconds * 1000)
  const loops = [
    keepRunning('verifier', async () => verifier.run({ signal: controller.signal })),
    ...workers.map(async (w, i) => keepRunning(`worker ${i}`, async () => w.run({ signal: controller.signal })))
  ]
  const result = await finished
  clearTimeout(timer)
  controller.abort()
  await Promise.all(loops)
  await net.stop()
  return result
}
