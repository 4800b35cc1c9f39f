import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Identity, UsageError } from '@autoresearch/protocol'
import { searchAgent, Worker, type Agent } from 'autoresearch-worker'
import { TestNetwork } from '../tests/network.ts'
import { listFlag, numberFlag } from './lib/flags.ts'
import { simCostCause } from './lib/sim-network.ts'
import { inertFlag, SEEDS, TRAIN_SECONDS, WORKERS } from './scaling.ts'

/** A flag typed wrong (bench/run.ts prints it with the usage). */
export class LookaheadUsageError extends UsageError { override name = 'LookaheadUsageError' }

const round = (x: number, digits = 2): number => Number(x.toFixed(digits))

/** The search agent, made as slow as a hosted model or a CLI agent: each proposal takes `seconds`. */
function slowAgent (seed: number, seconds: number): Agent {
  const search = searchAgent({ seed })
  return {
    name: `search, ${seconds} s per proposal`,
    propose: async (ctx) => {
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
      return await search.propose(ctx)
    }
  }
}

interface Timed { seconds: number, asked: number, keeps: number, reasked: number }

/**
 * The wall time for each of `workers` workers on one fresh network to run `experiments`
 * experiments, their agents proposing ahead or not. Several workers share one best: each
 * one's claims and reports make the others' agents propose again (`reasked`: proposals not
 * run because they were tried, claimed or close to others).
 */
async function timed (cause: string, opts: { experiments: number, agentSeconds: number, seed: number, workers: number, lookahead: boolean }): Promise<Timed> {
  const net = await TestNetwork.start(cause)
  try {
    let asked = 0
    let keeps = 0
    let reasked = 0
    const workers = await Promise.all(Array.from({ length: opts.workers }, async (_, i) => {
      const identity = Identity.generate()
      const seed = opts.seed * 100 + i
      const slow = slowAgent(seed, opts.agentSeconds)
      const agent: Agent = { name: slow.name, propose: async (ctx) => { asked++; return await slow.propose(ctx) } }
      const worker = new Worker({ client: await net.client(identity), identity, agent, stateDir: join(net.scratch, `worker-${i}`), lookahead: opts.lookahead, seed })
      worker.on('event', (e) => {
        if (e.type === 'experiment' && e.row.status === 'keep') keeps++
        if (e.type === 'duplicate' || e.type === 'near-duplicate') reasked++
      })
      return worker
    }))
    // The first step also fetches and measures the best: time the experiments after it.
    await Promise.all(workers.map(async (w) => { await w.run({ maxExperiments: 1 }) }))
    const start = performance.now()
    await Promise.all(workers.map(async (w) => { await w.run({ maxExperiments: 1 + opts.experiments }) }))
    return { seconds: (performance.now() - start) / 1000, asked, keeps, reasked }
  } finally {
    await net.stop()
  }
}

/** The bench's options (`npm run bench -- lookahead --help` lists them). */
export const options = {
  experiments: { type: 'string', default: '8' }, 'agent-seconds': { type: 'string', default: '2' },
  'train-seconds': { type: 'string', default: '1' }, seeds: { type: 'string', default: '1,2' },
  workers: { type: 'string', default: '1' }, inert: { type: 'string', default: '0' }
} as const

/**
 * What making the next experiment ahead (worker/src/operations/lookahead.ts) saves a worker
 * whose agent is slow: wall seconds per experiment for `--workers` workers on the sim-cost
 * cause (each runs `--experiments`; a copy with `--inert` constants the score ignores finds as
 * rarely as real autoresearch), their agents taking `--agent-seconds` per proposal and each
 * run `--train-seconds`, with the lookahead on and off, alternating, same seeds. Ideal:
 * max(agent, run) per experiment instead of their sum, also when the agent is asked again.
 */
export async function run (args: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({ args, options })
  const E = LookaheadUsageError
  const opts = {
    experiments: numberFlag('experiments', values.experiments, { min: 1, max: 10_000, whole: true }, E), agentSeconds: numberFlag('agent-seconds', values['agent-seconds'], TRAIN_SECONDS, E),
    trainSeconds: numberFlag('train-seconds', values['train-seconds'], TRAIN_SECONDS, E), seeds: listFlag('seeds', values.seeds, SEEDS, E),
    workers: numberFlag('workers', values.workers, WORKERS, E), inert: inertFlag(values.inert, E)
  }
  const cause = simCostCause(opts.trainSeconds, { inert: opts.inert })
  const log = (line: string): void => { process.stderr.write(`${line}\n`) }
  const runs: Record<'on' | 'off', Timed[]> = { on: [], off: [] }
  try {
    for (const seed of opts.seeds) {
      for (const variant of ['off', 'on'] as const) {
        const r = await timed(cause, { ...opts, seed, lookahead: variant === 'on' })
        log(`lookahead ${variant}, seed ${seed}: ${opts.workers} × ${opts.experiments} experiments in ${round(r.seconds, 1)} s; agents asked ${r.asked} times (${r.reasked} proposals not run), ${r.keeps} keeps`)
        runs[variant].push(r)
      }
    }
  } finally {
    rmSync(cause, { recursive: true, force: true })
  }
  // A worker's seconds per experiment: the workers run side by side.
  const per = (variant: 'on' | 'off'): number => round(runs[variant].reduce((a, r) => a + r.seconds, 0) / (opts.experiments * runs[variant].length))
  const sum = (variant: 'on' | 'off', key: 'asked' | 'keeps' | 'reasked'): number => runs[variant].reduce((a, r) => a + r[key], 0)
  return {
    cause: 'sim-cost', ...opts,
    secondsPerExperiment: { off: per('off'), on: per('on') },
    agentCalls: { off: sum('off', 'asked'), on: sum('on', 'asked') },
    keeps: { off: sum('off', 'keeps'), on: sum('on', 'keeps') },
    notRun: { off: sum('off', 'reasked'), on: sum('on', 'reasked') },
    speedup: round(per('off') / per('on'))
  }
}
