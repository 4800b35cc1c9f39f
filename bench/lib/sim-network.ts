/**
 * Shared by the scaling and verification benchmarks (and tests/scaling.test.ts): a
 * coordinator on loopback hosting the sim-cost cause, its verifiers and N search workers
 * in this process (or each in one of its own: `processes`) over real libp2p, every trial
 * run in the real sandbox and counted.
 */
import { setMaxListeners } from 'node:events'
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { describeHardware, Identity, improvement, retryWithBackoff } from '@autoresearch/protocol'
import { selectBackend, stopSpawner, useSpawner, type SandboxBackend } from '@autoresearch/runner'
import { searchAgent, Worker, type WorkerEvent } from 'autoresearch-worker'
import { Verifier, type VerifierEvent } from 'autoresearch-verifier'
import { setConstant, TestNetwork } from '../../tests/network.ts'
import { LoserSource } from './losers.ts'
import type { ParticipantSpec } from './participant.ts'
import { RemoteParticipant } from './remote.ts'

export const SIM_COST = resolve(import.meta.dirname, '..', 'causes', 'sim-cost')

/**
 * A copy of the sim-cost cause whose runs cost `trainSeconds` (the sleep is in its protected
 * harness); `noise` sets the metric's seed noise σ (default 0.01), `start` the constants of
 * train.py (default: the cause's own; the scaling bench starts farther out). `sequential`
 * (default true) keeps the manifest's early-stop rule, its pair noise set to √2 × `noise`
 * when that is given (a paired gain is the difference of two runs); false removes the rule.
 * `speculation` declares `verification.speculation` with that window
 * (coordinator/src/speculate.ts), `batch` declares `verification.batch` with that size
 * (coordinator/src/batch.ts); `knobs` adds that many constants to the search (addKnobs);
 * `inert` adds that many constants that evaluate.py ignores (addInert: edits to them gain nothing);
 * `reuse` declares `verification.reuseCandidateRuns` (coordinator/src/seeds.ts); `accept`
 * declares `sequential.accept` (early acceptance, protocol/src/sequential.ts) and, as it
 * requires, turns split rounds off; `wholeRounds` turns them off alone (the same rounds
 * without early acceptance, to compare with); `conflicts` declares `verification.conflicts`
 * (coordinator/src/rules/conflict-carry.ts); `pending` declares `collaboration.buildOnPending`
 * (worker/src/operations/adopt.ts).
 */
export function simCostCause (trainSeconds: number, opts: { noise?: number, start?: Record<string, number>, sequential?: boolean, speculation?: number, batch?: number, knobs?: number, inert?: number, reuse?: boolean, accept?: number, wholeRounds?: boolean, conflicts?: 'stale' | 'candidate', pending?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'ar-sim-cost-'))
  cpSync(SIM_COST, dir, { recursive: true })
  const set = (file: string, name: string, value: number): void => {
    const path = join(dir, file)
    writeFileSync(path, setConstant(name, value)(readFileSync(path, 'utf8')))
  }
  set('harness.py', 'TRAIN_SECONDS', trainSeconds)
  if (opts.noise !== undefined) set('evaluate.py', 'NOISE', opts.noise)
  for (const [name, value] of Object.entries(opts.start ?? {})) set('train.py', name, value)
  if (opts.knobs !== undefined && opts.knobs > 0) addKnobs(dir, opts.knobs)
  if (opts.inert !== undefined && opts.inert > 0) addInert(dir, opts.inert)
  const manifestPath = join(dir, 'autoresearch.json')
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { verification: { sequential?: Record<string, number>, speculation?: Record<string, number>, batch?: Record<string, number>, reuseCandidateRuns?: boolean, splitRounds?: boolean, conflicts?: string }, collaboration?: { buildOnPending?: boolean } }
  if (opts.speculation !== undefined) manifest.verification.speculation = { window: opts.speculation }
  if (opts.batch !== undefined) manifest.verification.batch = { size: opts.batch }
  if (opts.reuse === true) manifest.verification.reuseCandidateRuns = true
  if (opts.sequential === false) delete manifest.verification.sequential
  else if (opts.noise !== undefined) manifest.verification.sequential = { ...manifest.verification.sequential, noise: Number((Math.SQRT2 * opts.noise).toPrecision(4)) }
  if (opts.accept !== undefined && opts.sequential !== false) manifest.verification.sequential = { ...manifest.verification.sequential, accept: opts.accept }
  if (opts.accept !== undefined || opts.wholeRounds === true) manifest.verification.splitRounds = false
  if (opts.conflicts !== undefined) manifest.verification.conflicts = opts.conflicts
  if (opts.pending === true) manifest.collaboration = { ...manifest.collaboration, buildOnPending: true }
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`)
  return dir
}

/**
 * `knobs` more constants for the copy's search (`KNOB_1` …, each 1.0 at the optimum, evaluate.py's
 * `KNOBS`): they start a factor of 2 off, alternately above and below, each on a line of its own
 * between comments, so that edits to different knobs merge cleanly.
 */
function addKnobs (dir: string, knobs: number): void {
  addConstants(dir, Array.from({ length: knobs }, (_, i) => `# Knob ${i + 1} of the benchmark's copy.\nKNOB_${i + 1} = ${i % 2 === 0 ? '2.0' : '0.5'}\n\n`).join(''))
  const evaluate = join(dir, 'evaluate.py')
  writeFileSync(evaluate, setConstant('KNOBS', knobs)(readFileSync(evaluate, 'utf8')))
}

/**
 * `inert` constants the copy's search may edit but evaluate.py never reads (`INERT_1` …): an edit
 * to one leaves the loss exactly as it was (its seed noise is drawn from the scored constants
 * only), as most of a real train.py's edits gain nothing. They make a find rarer per experiment
 * (about 3 in 3 + `inert` experiments touch a constant that matters) without changing the bowl.
 */
function addInert (dir: string, inert: number): void {
  addConstants(dir, Array.from({ length: inert }, (_, i) => `# Setting ${i + 1} the score does not read.\nINERT_${i + 1} = 1.0\n\n`).join(''))
}

/** `lines` into the copy's train.py, before its main block. */
function addConstants (dir: string, lines: string): void {
  const train = join(dir, 'train.py')
  const text = readFileSync(train, 'utf8')
  const at = text.indexOf('if __name__ == "__main__":')
  if (at < 0) throw new Error('sim-cost train.py has no main block to add constants before')
  writeFileSync(train, text.slice(0, at) + lines + text.slice(at))
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
  /** Loser submissions (no real gain, bench/lib/losers.ts) per honest submission (default 0). */
  losers?: number
  /** Verifiers, the host's first (default 1); the others are allowlisted keys of their own. */
  verifiers?: number
  /** Slots of each in-process verifier: pairs of one job side by side (default 1; VerifierOptions.slots). */
  slots?: number
  /** Every worker also verifies (`autoresearch-worker --also-verify`), its key allowlisted. */
  alsoVerify?: boolean
  /** Workers share their experiments (WorkerOptions.share, default true). */
  share?: boolean
  /**
   * Every worker and verifier in a process of its own (bench/lib/participant.ts), as volunteers'
   * machines are; default false: all in this process. Not with `losers`.
   */
  processes?: boolean
  /** Appends every coordinator, verifier and worker event to this file, one line each with its second of the race. */
  trace?: string
  /**
   * The in-process participants start their sandbox steps and tree tools from the runner's
   * spawner process (useSpawner), so that forking them does not hold this one process's event
   * loop, as volunteers' machines each fork from their own (default false).
   */
  spawner?: boolean
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
  /** Candidates a merge left stale (coordinator `stale` events): a conflict with the new best, a change already in it, or another's tree. */
  stale: number
  workerSide: Tally
  verifierSide: Tally
  /** Verification jobs attested, and baseline trials the cache answered (with the sandbox seconds they once cost). */
  jobs: number
  cache: { hits: number, misses: number, savedSeconds: number }
  /** Jobs workers took with `alsoVerify`. */
  helperJobs: number
  /** Jobs the verifier ended before their last pair (the sequential rule, or a failed pair). */
  stoppedEarly: number
  /** Of those, the jobs that ended with an acceptance (`sequential.accept`). */
  acceptedEarly: number
  /** Baselines the verifiers ran ahead of any job, on the seeds the coordinator told them (LeaseReply `warm`): part of `verifierSide.runs`. */
  warmRuns: number
  /** Losers submitted, and how many of them (or of their rebases) verification rejected. */
  loserSubmissions: number
  losersRejected: number
  /** The losers whose rejection the verifier heard, and what its jobs spent on them: trials (cache hits included) and runs (cache hits not). */
  rejectedLosers: { count: number, trials: number, runs: number }
  /** Errors that interrupted a worker's or verifier's loop (each resumed a second later). */
  errors: string[]
  /** Experiments that ran an edit some worker had already run on the same best. */
  duplicates: number
  /** Workers' moves onto another worker's pending candidate (`collaboration.buildOnPending`, worker/src/operations/adopt.ts). */
  adopted: number
  /** Submissions refused with DuplicateTreeError: a worker ran and confirmed an edit whose tree another candidate (often a carry) already was. */
  takenTrees: number
  /**
   * Workers' pauses for an agent that proposed nothing or failed (`agent-backoff`), the seconds
   * from each to the worker's next phase, and of them those after a new best was announced (idle on an old best).
   */
  agentPauses: { count: number, seconds: number, afterNewBest: number }
}

const round = (x: number, digits = 2): number => Number(x.toFixed(digits))

/** What the race reads of a verifier, in this process or in one of its own (RemoteParticipant). */
interface Member {
  on: (type: 'event', listener: (e: VerifierEvent) => void) => unknown
  readonly cacheStats: { hits: number, misses: number }
}

/** What the race reads of a worker, here or in a process of its own. */
interface WorkerMember {
  on: (type: 'event', listener: (e: WorkerEvent) => void) => unknown
  readonly experiments: number
  readonly submissions: number
}

/** `RaceOptions.trace`: each event of each emitter as a line, `<second> <who> <json>`, without the bulky fields. */
function traceEvents (path: string, started: number, emitters: Record<string, { on: (type: 'event', listener: (e: object) => void) => unknown }>): void {
  for (const [who, emitter] of Object.entries(emitters)) {
    emitter.on('event', (e) => {
      const { log: _l, logTail: _t, row, receipt, verdict, job, result, status: _s, body: _b, ...rest } = e as Record<string, unknown> & {
        row?: { status: string, metric: number | null, description: string }, receipt?: { candidateSeq: number }, verdict?: { state: string, candidateSeq: number }, job?: { jobId: number, candidateSeq: number, seeds: number[] }, result?: { durationMs: number }
      }
      const brief = {
        ...rest,
        ...(receipt === undefined ? {} : { seq: receipt.candidateSeq }),
        ...(verdict === undefined ? {} : { state: verdict.state, seq: verdict.candidateSeq }),
        ...(job === undefined ? {} : { jobId: job.jobId, seq: job.candidateSeq, seeds: job.seeds.length }),
        ...(result === undefined ? {} : { ms: result.durationMs }),
        ...(row === undefined ? {} : { status: row.status, metric: row.metric, description: row.description })
      }
      appendFileSync(path, `${((performance.now() - started) / 1000).toFixed(2)} ${who} ${JSON.stringify(brief)}\n`)
    })
  }
}

/** Runs one network until the target metric or merge count, then stops everything and reports. */
export async function race (opts: RaceOptions): Promise<RaceResult> {
  const log = opts.log ?? (() => {})
  const manifest = JSON.parse(readFileSync(join(opts.cause, 'autoresearch.json'), 'utf8')) as { train: { command: string[] } }
  const workerIds = Array.from({ length: opts.workers }, () => Identity.generate())
  if (opts.trace !== undefined) {
    // A missing folder once failed every event of a 7-minute race; make it (or fail) before anything starts,
    // since a throw once the network runs would leave it running.
    mkdirSync(dirname(opts.trace), { recursive: true })
    writeFileSync(opts.trace, '')
  }
  const extraVerifiers = Array.from({ length: Math.max(0, (opts.verifiers ?? 1) - 1) }, () => Identity.generate())
  const allowed = [...extraVerifiers, ...(opts.alsoVerify === true ? workerIds : [])].map((id) => id.publicKey)
  const net = await TestNetwork.start(opts.cause, (c) => ({ verifiers: [...c.verifiers, ...allowed] }))
  const sandbox = selectBackend()
  const spawner = opts.spawner === true && opts.processes !== true
  if (spawner) await useSpawner().ready()
  const workerSide: Tally = { runs: 0, seconds: 0 }
  const verifierSide: Tally = { runs: 0, seconds: 0 }
  const controller = new AbortController()
  // Every worker and verifier listens on it.
  setMaxListeners(0, controller.signal)
  let finish!: (result: RaceResult) => void
  /** Ends the race with an error (a loser refused at intake). */
  let fail!: (err: Error) => void
  const finished = new Promise<RaceResult>((resolve, reject) => { finish = resolve; fail = reject })
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

  // The host's own verifier (the one the coordinator allowlists by default), then the others.
  const verifierIds = [net.verifierIdentity, ...extraVerifiers]
  const perSubmission = opts.losers ?? 0
  if (opts.processes === true && perSubmission > 0) throw new Error('losers are submitted from the race\'s own process: run them without processes')
  const remotes: RemoteParticipant[] = []
  const remote = (spec: Omit<ParticipantSpec, 'address' | 'trainCommand' | 'baselineCache'>): RemoteParticipant => {
    const r = new RemoteParticipant({ ...spec, address: net.address, trainCommand: manifest.train.command, baselineCache: opts.baselineCache }, {
      onRun: (side, train, seconds) => {
        const tally = side === 'worker' ? workerSide : verifierSide
        tally.seconds += seconds
        if (train) tally.runs++
      },
      onLoopError: (message) => {
        errors.push(`${spec.role}: ${message}`)
        log(`  ${spec.role}: ${message}`)
      }
    })
    remotes.push(r)
    return r
  }
  const hex = (id: Identity): string => Buffer.from(id.seed).toString('hex')
  const verifierBackend = countingBackend(sandbox, verifierSide, manifest.train.command)
  const verifiers: Member[] = opts.processes === true
    ? verifierIds.map((identity, i) => remote({ role: 'verifier', seed: hex(identity), stateDir: join(net.scratch, `verifier-${i}`) }))
    : await Promise.all(verifierIds.map(async (identity, i) => new Verifier({
      client: await net.client(identity), identity, stateDir: join(net.scratch, `verifier-${i}`), backend: verifierBackend, baselineCache: opts.baselineCache, slots: opts.slots ?? 1
    })))
  const losers = perSubmission === 0
    ? undefined
    : new LoserSource({
      net, perSubmission, seed: opts.seed, backend: countingBackend(sandbox, workerSide, manifest.train.command),
      signal: controller.signal, onError: (err) => { fail(err) }, log
    })
  /** Honest submissions the losers have followed. */
  const followed = new Set<number>()
  /** Edits run on each best by any worker, and how many runs repeated one. */
  const ran = new Set<string>()
  let duplicates = 0
  let adopted = 0
  const agentPauses = { count: 0, seconds: 0, afterNewBest: 0 }
  /** When the coordinator moved its best, in order. */
  const bestChanges: number[] = []
  /** Workers' verifiers (`alsoVerify`): their runs are verification, counted on the verifier side. */
  const helpers: Member[] = []
  const workers: WorkerMember[] = await Promise.all(workerIds.map(async (identity, i) => {
    const worker = { agentSeed: opts.seed * 1000 + i, workerSeed: 10 * i + 1, stateDir: join(net.scratch, `worker-${i}`), name: `w${i}`, share: opts.share }
    if (opts.processes === true) {
      const r = remote({ role: 'worker', seed: hex(identity), alsoVerify: opts.alsoVerify, ...worker })
      if (opts.alsoVerify === true) helpers.push({ on: (_type, fn) => { r.on('helper-event', fn) }, get cacheStats () { return r.cacheStats } })
      return r
    }
    const client = await net.client(identity)
    const helper = opts.alsoVerify === true
      ? new Verifier({ client, identity, stateDir: join(worker.stateDir, 'verifier'), backend: verifierBackend, baselineCache: opts.baselineCache, help: true })
      : undefined
    if (helper !== undefined) helpers.push(helper)
    return new Worker({
      // The hardware the CLI reports (cli.ts): the verifiers' runs of a best on this class stand for the worker's.
      client, identity, agent: searchAgent({ seed: worker.agentSeed }), seed: worker.workerSeed, alsoVerify: helper, hardware: describeHardware(),
      stateDir: worker.stateDir, backend: countingBackend(sandbox, workerSide, manifest.train.command), name: worker.name, share: worker.share
    })
  }))
  workers.forEach((worker, i) => {
    /** This worker's own measurement of each best it moved onto, and its claim for each candidate it sent: the bases its claims are gains over. */
    const measured = new Map<string, number>()
    /** When this worker began pausing for its agent; its next phase ends the pause. */
    let pausedAt: number | undefined
    worker.on('event', (e: WorkerEvent) => {
      if (e.type === 'agent-backoff') {
        agentPauses.count++
        pausedAt = Date.now()
      } else if (e.type === 'phase' && pausedAt !== undefined) {
        const now = Date.now()
        const since = pausedAt
        const moved = bestChanges.find((t) => t > since)
        agentPauses.seconds += (now - since) / 1000
        if (moved !== undefined) agentPauses.afterNewBest += (now - moved) / 1000
        pausedAt = undefined
      }
      if (e.type === 'experiment' && e.best !== undefined && e.diffHash !== undefined) {
        const key = `${e.best}:${e.diffHash}`
        if (ran.has(key)) duplicates++
        ran.add(key)
      }
      if (e.type === 'best') measured.set(e.commit, e.localMetric)
      if (e.type === 'pending-measured' && e.adopted) adopted++
      if (e.type !== 'submitted') return
      // A later find can go on top of this one (its parent this candidate): its claim is then a gain over this claim.
      measured.set(e.receipt.candidate, e.claimedMetric)
      log(`  w${i} submitted #${e.receipt.candidateSeq} claiming ${e.claimedMetric.toFixed(3)}`)
      // A worker can report one receipt twice (a re-sent submission answered with its receipt): one batch per submission.
      if (losers === undefined || followed.has(e.receipt.candidateSeq)) return
      followed.add(e.receipt.candidateSeq)
      const parent = net.running.coordinator.store.candidate(e.receipt.candidateSeq)?.parent_oid
      const base = parent === undefined ? undefined : measured.get(parent)
      if (base === undefined) {
        fail(new Error(`w${i}'s submission #${e.receipt.candidateSeq} is on a best it never measured: no claimed gain for its losers`))
        return
      }
      losers.onSubmission(improvement(net.running.coordinator.manifest, base, e.claimedMetric))
    })
  })
  await Promise.all(remotes.map(async (r) => { await r.ready }))
  const coordinator = net.running.coordinator
  let jobs = 0
  let stale = 0
  let takenTrees = 0
  let savedSeconds = 0
  let stoppedEarly = 0
  let acceptedEarly = 0
  let warmRuns = 0
  /** Per candidate, the trials its jobs ran so far; a rejected loser's go to `rejectedLosers`. */
  const jobCandidate = new Map<number, number>()
  const spent = new Map<number, { trials: number, runs: number }>()
  const rejectedLosers = { count: 0, trials: 0, runs: 0 }
  const onVerifierEvent = (e: VerifierEvent): void => {
    if (e.type === 'job') jobCandidate.set(e.job.jobId, e.job.candidateSeq)
    if (e.type === 'trial') {
      if (e.cached) savedSeconds += e.result.durationMs / 1000
      const seq = jobCandidate.get(e.jobId) as number
      const s = spent.get(seq) ?? { trials: 0, runs: 0 }
      s.trials++
      if (!e.cached) s.runs++
      spent.set(seq, s)
    }
    if (e.type === 'stopped') stoppedEarly++
    if (e.type === 'stopped' && e.verdict === 'accepted') acceptedEarly++
    if (e.type === 'warmed') warmRuns++
    if (e.type === 'attested' && e.verdict.state === 'rejected' && losers?.owns(e.verdict.candidateSeq) === true) {
      const s = spent.get(e.verdict.candidateSeq) ?? { trials: 0, runs: 0 }
      rejectedLosers.count++
      rejectedLosers.trials += s.trials
      rejectedLosers.runs += s.runs
    }
  }
  for (const v of [...verifiers, ...helpers]) v.on('event', onVerifierEvent)
  let helperJobs = 0
  for (const h of helpers) h.on('event', (e) => { if (e.type === 'attested') helperJobs++ })
  const done = (): boolean => {
    const status = coordinator.status()
    return (opts.target !== undefined && status.best.metric !== null && status.best.metric <= opts.target) ||
      (opts.merges !== undefined && status.merges >= opts.merges)
  }
  // Taken inside the coordinator's event, before the verifier hears its verdict: what runs
  // after it (the next job, the experiments in flight) is not part of the race.
  const sum = (f: (v: Member) => number): number => [...verifiers, ...helpers].reduce((a, v) => a + f(v), 0)
  const snapshot = (): RaceResult => {
    const status = coordinator.status()
    return {
      reached: done(),
      seconds: round((performance.now() - started) / 1000),
      merges: status.merges,
      bestMetric: status.best.metric === null ? null : round(status.best.metric, 4),
      experiments: workers.reduce((a, w) => a + w.experiments, 0),
      submissions: workers.reduce((a, w) => a + w.submissions, 0),
      stale,
      workerSide: { runs: workerSide.runs, seconds: round(workerSide.seconds, 1) },
      verifierSide: { runs: verifierSide.runs, seconds: round(verifierSide.seconds, 1) },
      jobs,
      cache: { hits: sum((v) => v.cacheStats.hits), misses: sum((v) => v.cacheStats.misses), savedSeconds: round(savedSeconds, 1) },
      helperJobs,
      stoppedEarly,
      acceptedEarly,
      warmRuns,
      loserSubmissions: losers?.submitted ?? 0,
      losersRejected: losers?.rejected ?? 0,
      rejectedLosers: { ...rejectedLosers },
      errors: [...errors],
      duplicates,
      adopted,
      takenTrees,
      agentPauses: { count: agentPauses.count, seconds: round(agentPauses.seconds, 1), afterNewBest: round(agentPauses.afterNewBest, 1) }
    }
  }
  coordinator.on('event', (e) => {
    if (e.type === 'best-changed') bestChanges.push(Date.now())
    if (e.type === 'verdict') jobs++
    if (e.type === 'stale') stale++
    if (e.type === 'submission-rejected' && e.error === 'DuplicateTreeError') takenTrees++
    if (e.type !== 'merged') return
    log(`  merged #${e.candidateSeq}: ${e.baselineMetric.toFixed(3)} -> ${e.metric.toFixed(3)}`)
    if (done()) finish(snapshot())
  })
  const started = performance.now()
  if (opts.trace !== undefined) traceEvents(opts.trace, started, { C: coordinator, ...Object.fromEntries(verifiers.map((v, i) => [`V${i}`, v])), ...Object.fromEntries(workers.map((w, i) => [`w${i}`, w])) })
  for (const r of remotes) r.go()
  const timer = setTimeout(() => { finish(snapshot()) }, opts.timeoutSeconds * 1000)
  const loops = opts.processes === true
    ? []
    : [
        ...(verifiers as Verifier[]).map(async (v, i) => keepRunning(`verifier ${i}`, async () => v.run({ signal: controller.signal }))),
        ...(workers as Worker[]).map(async (w, i) => keepRunning(`worker ${i}`, async () => w.run({ signal: controller.signal })))
      ]
  try {
    return await finished
  } finally {
    clearTimeout(timer)
    controller.abort()
    await Promise.all([...loops, ...remotes.map(async (r) => { await r.stop() })])
    await losers?.settled()
    await net.stop()
    if (spawner) stopSpawner()
  }
}
