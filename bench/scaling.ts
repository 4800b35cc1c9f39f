import { rmSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { MAX_BATCH_SIZE, MAX_SPECULATION_WINDOW, UsageError } from '@autoresearch/protocol'
import { listFlag, numberFlag, traceFlag } from './lib/flags.ts'
import { race, simCostCause, type RaceResult } from './lib/sim-network.ts'
import { machinePace } from './lib/trial-pace.ts'

/** A flag of `npm run bench -- scaling` out of its range; the message names the range. */
export class ScalingUsageError extends UsageError { override name = 'ScalingUsageError' }

export interface ScalingOptions {
  workers: number[]
  /** Each worker count runs once per seed; times are averaged over the seeds. */
  seeds: number[]
  target: number
  trainSeconds: number
  timeoutSeconds: number
  /** Every worker also verifies (`--also-verify`). */
  alsoVerify?: boolean
  /** train.py's constants at the start (default: the cause's own, loss 4.3). */
  start?: Record<string, number>
  /** Each worker and verifier in a process of its own (RaceOptions.processes, `--processes`). */
  processes?: boolean
  /** Before the races, this machine's own seconds per trial with each worker count's trials at once and no network (`--machine-pace`): the rows' `machinePace`. */
  machinePace?: boolean
  /** Event trace files, one per race: `<trace>-<workers>w-s<seed>.txt` (RaceOptions.trace). */
  trace?: string
  /** The cause's copy declares `verification.speculation` with this window (`--speculation N`; default none). */
  speculation?: number
  /** The cause's copy declares `verification.batch` with this size (`--batch N`; default none). */
  batch?: number
  /** Constants added to the cause's three (`--knobs N`, simCostCause's `knobs`; default none). */
  knobs?: number
  /** Constants added that the score never reads (`--inert N`, simCostCause's `inert`; default none): finds rarer per experiment. */
  inert?: number
  /** The cause's copy declares `verification.reuseCandidateRuns` (`--reuse`; default not). */
  reuse?: boolean
  /** The cause's copy declares `sequential.accept` with this rate, split rounds off (`--accept ALPHA`; default not). */
  accept?: number
  /** The cause's copy without split rounds (`--whole-rounds`: what `--accept` compares with). */
  wholeRounds?: boolean
  /** The cause's copy declares `verification.conflicts` (`--conflicts stale|candidate`; default the cause's own, stale). */
  conflicts?: 'stale' | 'candidate'
  /** The cause's copy declares `collaboration.buildOnPending` (`--pending`; default not): workers build on others' queued candidates. */
  pending?: boolean
  /** In-process participants fork from the runner's spawner process (RaceOptions.spawner, `--spawner`). */
  spawner?: boolean
  /** The verifiers' slots in one machine (`--packed`): one verifier with max(1, ⌊N/4⌋) slots instead of that many with one each. */
  packed?: boolean
  log?: (line: string) => void
}

/**
 * `--start far` (the default): constants farther from the optimum than the cause's own (loss
 * about 19.7 instead of 4.3). From the cause's own, one worker reached 0.3 in 5 to 7 merges
 * (seeds 1 to 3), and on seed 1 reached 0.007 in 7, so no target needed the 8 merges the
 * benchmark asks of one worker.
 */
export const FAR_START = { LEARNING_RATE: 0.0025, WEIGHT_DECAY: 0.4, WIDTH_SCALE: 0.25 }

/** `--knobs` at most: evaluate.py refuses a params.json over 4 KiB, which 67 constants stay well under. */
export const MAX_KNOBS = 64

/**
 * `--inert` at most. train.py leaves the inert constants out of params.json, so only its own
 * size bounds them (about 55 bytes each): 400 make a find about 130 times rarer than none.
 */
export const MAX_INERT = 400

/**
 * The race's copy of the cause from `--start far|cause`, `--knobs N` and `--inert N`, as the scaling bench
 * and the ceiling bench (bench/ceiling.ts) take them; `Err`, the bench's own usage error.
 */
export function raceCopy (values: { start: string, knobs: string, inert: string }, Err: new (message: string) => Error = ScalingUsageError): { start?: Record<string, number>, knobs: number, inert: number } {
  if (values.start !== 'far' && values.start !== 'cause') throw new Err('--start is far (farther from the optimum than the cause, the default) or cause (the cause\'s own constants)')
  const knobs = numberFlag('knobs', values.knobs, { min: 0, max: MAX_KNOBS, whole: true }, Err, `how many constants to add to the cause's three, an integer from 0 to ${MAX_KNOBS}`)
  return { ...(values.start === 'far' ? { start: FAR_START } : {}), knobs, inert: inertFlag(values.inert, Err) }
}

/** `--inert N`, as every bench that copies the cause with constants the score ignores reads it. */
export function inertFlag (value: string, Err: new (message: string) => Error): number {
  return numberFlag('inert', value, { min: 0, max: MAX_INERT, whole: true }, Err, `how many constants the score ignores to add, an integer from 0 to ${MAX_INERT}`)
}

/** What the race benches' numeric flags take (bench/lib/flags.ts): searchers, seeds, the loss to reach, a run's simulated seconds, a race's limit in seconds. */
export const WORKERS = { min: 1, max: 64, whole: true }
export const SEEDS = { min: 0, max: 2 ** 31 - 1, whole: true }
export const TARGET = { min: 0, above: true }
export const TRAIN_SECONDS = { min: 0, max: 600 }
export const TIMEOUT = { min: 0, max: 86_400, above: true }
/** `--accept`, the false-acceptance rate early acceptance spends (sequential.accept): at most half of 1 − confidence. */
export const ACCEPT = { min: 0, max: 0.025, above: true }
export const ACCEPT_IS = 'the false-acceptance rate early acceptance spends (sequential.accept): above 0 and at most 0.025, half of 1 − confidence'

/** Verifiers for N workers: max(1, ⌊N/4⌋), a verifier for every four volunteers. */
export const verifiersFor = (workers: number): number => Math.max(1, Math.floor(workers / 4))

/** The verifier machines for N workers and the slots of each: verifiersFor(N) with one slot each, or packed into one machine with that many. */
export const machines = (workers: number, packed: boolean): { verifiers: number, slots: number } =>
  packed ? { verifiers: 1, slots: verifiersFor(workers) } : { verifiers: verifiersFor(workers), slots: 1 }

export interface ScalingRow {
  workers: number
  verifiers: number
  /** Slots of each verifier: 1, or with `--packed` all the verifiers' slots in one. */
  slots: number
  /** Mean time to target over the seeds; a run that timed out counts as its timeout. */
  seconds: number
  speedup: number
  efficiency: number
  /**
   * Efficiency's two factors, against the first worker count: `pace` is its worker-seconds per
   * experiment over these workers' (how much slower each worker's loop turns, here where every
   * participant shares one machine), `search` its experiments to target over these workers'
   * (how many more the N searchers needed). pace × search = efficiency, up to rounding.
   */
  pace: number
  search: number
  /** Worker-seconds per experiment: workers × seconds / experiments, on the means over the seeds. */
  secondsPerExperiment: number
  /**
   * With `--machine-pace`: the first row's count of sandbox trials at once over these workers'
   * count, in seconds per trial, with no network at all (bench/lib/trial-pace.ts) — the pace no
   * network can beat on this machine, against which `pace` is read.
   */
  machinePace?: number
  reached: number
  merges: number
  /** The fewest merges any seed took to the target (with one worker the benchmark asks for at least 8). */
  minMerges: number
  experiments: number
  submissions: number
  /** Candidates a merge left stale (a conflict with the new best, a change already in it, or another's tree), mean over the seeds: finds that did not merge beside another. */
  stale: number
  /** Sandbox runs of the workers: experiments plus measuring each new best, confirmations and carry-overs. */
  workerRuns: number
  verifierRuns: number
  /** Of the verifier runs, baselines warmed ahead of any job, mean over the seeds. */
  warmRuns: number
  /** Mean sandbox seconds per worker run: above trainSeconds by the sandbox's and this machine's overhead. */
  secondsPerRun: number
  /** Verifier sandbox seconds over all sandbox seconds, summed over the seeds. */
  verifyComputeFraction: number
  /** Jobs taken by workers that also verify, mean over the seeds. */
  helperJobs: number
  /** Experiments that repeated an edit some worker had run on the same best, mean over the seeds. */
  duplicates: number
  /** Submissions refused because another candidate already was their tree (DuplicateTreeError), mean over the seeds. */
  takenTrees: number
  /** Jobs a verifier ended before their last pair (a rejection, or with `--accept` an acceptance), mean over the seeds. */
  stoppedEarly: number
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
const round = (x: number, digits = 2): number => Number(x.toFixed(digits))

/**
 * Time for N search workers (and max(1, N/4) verifiers) to bring the sim-cost cause's best to
 * `target`, against the first worker count's (normally one): speedup T1/TN and
 * efficiency speedup/N, where 1 would be the ideal N times faster.
 */
export async function scaling (opts: ScalingOptions): Promise<{ rows: ScalingRow[], runs: Array<RaceResult & { workers: number, seed: number }> }> {
  const cause = simCostCause(opts.trainSeconds, { ...(opts.start === undefined ? {} : { start: opts.start }), speculation: opts.speculation, batch: opts.batch, knobs: opts.knobs, inert: opts.inert, reuse: opts.reuse, wholeRounds: opts.wholeRounds, pending: opts.pending, ...(opts.conflicts === undefined ? {} : { conflicts: opts.conflicts }), ...(opts.accept === undefined ? {} : { accept: opts.accept }) })
  const runs: Array<RaceResult & { workers: number, seed: number }> = []
  const perTrial = opts.machinePace === true ? await machinePace({ trainSeconds: opts.trainSeconds, counts: [...new Set(opts.workers)], spawner: opts.spawner === true && opts.processes !== true }) : undefined
  if (perTrial !== undefined) opts.log?.(`this machine, no network: ${[...perTrial].map(([n, s]) => `${s.toFixed(3)} s a trial with ${n} at once`).join(', ')}`)
  for (const seed of opts.seeds) {
    for (const workers of opts.workers) {
      opts.log?.(`${workers} worker(s), seed ${seed}`)
      const result = await race({
        cause, workers, ...machines(workers, opts.packed === true), alsoVerify: opts.alsoVerify, seed, target: opts.target, timeoutSeconds: opts.timeoutSeconds, processes: opts.processes, spawner: opts.spawner, log: opts.log,
        ...(opts.trace === undefined ? {} : { trace: `${opts.trace}-${workers}w-s${seed}.txt` })
      })
      opts.log?.(`  ${result.reached ? 'reached' : 'did not reach'} ${opts.target} in ${result.seconds} s: ${result.merges} merges, ${result.experiments} experiments`)
      runs.push({ ...result, workers, seed })
    }
  }
  rmSync(cause, { recursive: true, force: true })
  const of = (n: number): typeof runs => runs.filter((r) => r.workers === n)
  const first = opts.workers[0] as number
  const base = mean(of(first).map((r) => r.seconds))
  const baseExperiments = mean(of(first).map((r) => r.experiments))
  const perExperiment = (n: number, seconds: number, experiments: number): number => n * seconds / Math.max(1e-9, experiments)
  const rows = opts.workers.map((n) => {
    const rs = of(n)
    const seconds = mean(rs.map((r) => r.seconds))
    const experiments = mean(rs.map((r) => r.experiments))
    const verifierSeconds = rs.reduce((a, r) => a + r.verifierSide.seconds, 0)
    return {
      workers: n,
      ...machines(n, opts.packed === true),
      seconds: round(seconds, 1),
      speedup: round(base / seconds),
      efficiency: round(base / seconds * first / n),
      pace: round(perExperiment(first, base, baseExperiments) / perExperiment(n, seconds, experiments)),
      search: round(baseExperiments / Math.max(1e-9, experiments)),
      secondsPerExperiment: round(perExperiment(n, seconds, experiments)),
      ...(perTrial === undefined ? {} : { machinePace: round((perTrial.get(first) as number) / (perTrial.get(n) as number)) }),
      reached: rs.filter((r) => r.reached).length,
      merges: round(mean(rs.map((r) => r.merges)), 1),
      minMerges: Math.min(...rs.map((r) => r.merges)),
      experiments: round(experiments, 1),
      submissions: round(mean(rs.map((r) => r.submissions)), 1),
      stale: round(mean(rs.map((r) => r.stale)), 1),
      workerRuns: round(mean(rs.map((r) => r.workerSide.runs)), 1),
      verifierRuns: round(mean(rs.map((r) => r.verifierSide.runs)), 1),
      warmRuns: round(mean(rs.map((r) => r.warmRuns)), 1),
      secondsPerRun: round(mean(rs.map((r) => r.workerSide.seconds / Math.max(1, r.workerSide.runs)))),
      verifyComputeFraction: round(verifierSeconds / Math.max(1e-9, verifierSeconds + rs.reduce((a, r) => a + r.workerSide.seconds, 0)), 3),
      helperJobs: round(mean(rs.map((r) => r.helperJobs)), 1),
      duplicates: round(mean(rs.map((r) => r.duplicates)), 1),
      takenTrees: round(mean(rs.map((r) => r.takenTrees)), 1),
      stoppedEarly: round(mean(rs.map((r) => r.stoppedEarly)), 1)
    }
  })
  return { rows, runs }
}

/** The bench's options (`npm run bench -- scaling --help` lists them). */
export const options = {
  workers: { type: 'string', default: '1,2,4,8' }, seeds: { type: 'string', default: '1,2,3' }, target: { type: 'string', default: '0.3' },
  'train-seconds': { type: 'string', default: '1' }, timeout: { type: 'string', default: '420' }, 'also-verify': { type: 'boolean', default: false },
  start: { type: 'string', default: 'far' }, processes: { type: 'boolean', default: false }, trace: { type: 'string' }, speculation: { type: 'string' },
  knobs: { type: 'string', default: '0' }, inert: { type: 'string', default: '0' }, batch: { type: 'string' }, reuse: { type: 'boolean', default: false }, spawner: { type: 'boolean', default: false },
  accept: { type: 'string' }, 'whole-rounds': { type: 'boolean', default: false }, conflicts: { type: 'string' }, pending: { type: 'boolean', default: false },
  packed: { type: 'boolean', default: false }, 'machine-pace': { type: 'boolean', default: false }
} as const

/** `npm run bench -- scaling [--workers 1,2,4,8] [--seeds 1,2,3] [--target 0.3] [--train-seconds 1] [--timeout 420] [--start far|cause] [--speculation WINDOW] [--batch SIZE] [--knobs N] [--inert N] [--reuse] [--accept ALPHA] [--whole-rounds] [--conflicts stale|candidate] [--pending] [--spawner] [--packed] [--also-verify] [--processes] [--machine-pace] [--trace PREFIX]` */
export async function run (args: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({ args, options })
  const copy = raceCopy(values)
  const E = ScalingUsageError
  const window = values.speculation === undefined ? undefined : numberFlag('speculation', values.speculation, { min: 1, max: MAX_SPECULATION_WINDOW, whole: true }, E, `the window of verification.speculation, an integer from 1 to ${MAX_SPECULATION_WINDOW} (without it: no speculation)`)
  const batch = values.batch === undefined ? undefined : numberFlag('batch', values.batch, { min: 2, max: MAX_BATCH_SIZE, whole: true }, E, `the size of verification.batch, an integer from 2 to ${MAX_BATCH_SIZE} (without it: no batches)`)
  const accept = values.accept === undefined ? undefined : numberFlag('accept', values.accept, ACCEPT, E, `${ACCEPT_IS} (without it: no early acceptance)`)
  const conflicts = values.conflicts as 'stale' | 'candidate' | undefined
  if (conflicts !== undefined && conflicts !== 'stale' && conflicts !== 'candidate') throw new ScalingUsageError('--conflicts is what the cause\'s copy does with a queued candidate that conflicts with a newer best (verification.conflicts): stale (the default) or candidate')
  if (values.packed && values.processes) throw new ScalingUsageError('--packed puts the verifiers\' slots in one in-process verifier; it does not go with --processes')
  const opts = {
    workers: listFlag('workers', values.workers, WORKERS, E), seeds: listFlag('seeds', values.seeds, SEEDS, E), target: numberFlag('target', values.target, TARGET, E),
    trainSeconds: numberFlag('train-seconds', values['train-seconds'], TRAIN_SECONDS, E), timeoutSeconds: numberFlag('timeout', values.timeout, TIMEOUT, E),
    alsoVerify: values['also-verify'], start: values.start, knobs: copy.knobs, inert: copy.inert, reuse: values.reuse, wholeRounds: values['whole-rounds'], pending: values.pending, spawner: values.spawner, packed: values.packed, processes: values.processes, machinePace: values['machine-pace'], ...(window === undefined ? {} : { speculation: window }), ...(batch === undefined ? {} : { batch }), ...(accept === undefined ? {} : { accept }), ...(conflicts === undefined ? {} : { conflicts }), ...(values.trace === undefined ? {} : { trace: traceFlag(values.trace, E) })
  }
  const { start: _, ...rest } = opts
  const { rows, runs } = await scaling({ ...rest, ...copy, log: (line) => { process.stderr.write(`${line}\n`) } })
  const verifier = runs.reduce((a, r) => a + r.verifierSide.seconds, 0)
  const worker = runs.reduce((a, r) => a + r.workerSide.seconds, 0)
  return {
    cause: 'sim-cost', ...opts, verifiers: opts.packed ? 'one, with max(1, floor(workers / 4)) slots' : 'max(1, floor(workers / 4))', rows,
    verifyComputeFraction: round(verifier / Math.max(1e-9, verifier + worker), 3),
    runs: runs.map((r) => ({ workers: r.workers, seed: r.seed, seconds: r.seconds, reached: r.reached, merges: r.merges, bestMetric: r.bestMetric, experiments: r.experiments, submissions: r.submissions, stale: r.stale, takenTrees: r.takenTrees, duplicates: r.duplicates, adopted: r.adopted, agentPauses: r.agentPauses, workerRuns: r.workerSide.runs, jobs: r.jobs, helperJobs: r.helperJobs, errors: r.errors.length }))
  }
}
