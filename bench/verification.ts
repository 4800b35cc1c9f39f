import { rmSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { race, simCostCause, type RaceResult } from './lib/sim-network.ts'

/** `--start near`: the constants close to the optimum (loss about 0.28 instead of 4.3), where gains are small and candidates often fail verification. */
const NEAR = { LEARNING_RATE: 0.03, WEIGHT_DECAY: 0.035, WIDTH_SCALE: 1.5 }

const round = (x: number, digits = 3): number => Number(x.toFixed(digits))

/** Sums over the races of one variant, and what verifying cost per merge. */
function summary (results: RaceResult[]): Record<string, number> {
  const sum = (f: (r: RaceResult) => number): number => results.reduce((a, r) => a + f(r), 0)
  const merges = Math.max(1, sum((r) => r.merges))
  const [verifierRuns, verifierSeconds, workerSeconds, hits, savedSeconds] =
    [(r: RaceResult) => r.verifierSide.runs, (r: RaceResult) => r.verifierSide.seconds, (r: RaceResult) => r.workerSide.seconds, (r: RaceResult) => r.cache.hits, (r: RaceResult) => r.cache.savedSeconds].map(sum) as [number, number, number, number, number]
  return {
    merges: sum((r) => r.merges),
    /** Races that got their merges before the timeout (the others count what they had). */
    completed: results.filter((r) => r.reached).length,
    jobs: sum((r) => r.jobs),
    verifierRuns,
    verifierSeconds: round(verifierSeconds, 1),
    workerRuns: sum((r) => r.workerSide.runs),
    workerSeconds: round(workerSeconds, 1),
    cacheHits: hits,
    verifierRunsPerMerge: round(verifierRuns / merges, 2),
    verifyComputeFraction: round(verifierSeconds / (verifierSeconds + workerSeconds)),
    // The very same jobs with every cache hit run instead: the cache's effect without the runs' luck.
    sameJobsUncachedRunsPerMerge: round((verifierRuns + hits) / merges, 2),
    sameJobsUncachedFraction: round((verifierSeconds + savedSeconds) / (verifierSeconds + savedSeconds + workerSeconds)),
    seconds: round(sum((r) => r.seconds), 1)
  }
}

/**
 * What verification costs: sandbox runs the verifier does per merged improvement, and
 * the share of all sandbox time (the workers' experiments, confirmations and noise runs,
 * plus the verifier's trials) spent verifying, with the verifier's baseline cache on and
 * off, same seeds. The two variants' runs diverge with timing, so the cache-on variant
 * also reports what its own jobs would have cost uncached.
 */
export async function run (args: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args,
    options: {
      merges: { type: 'string', default: '3' }, workers: { type: 'string', default: '4' }, seeds: { type: 'string', default: '1,2' },
      'train-seconds': { type: 'string', default: '0.5' }, noise: { type: 'string', default: '0.02' }, start: { type: 'string', default: 'far' },
      timeout: { type: 'string', default: '180' }
    }
  })
  const opts = {
    merges: Number(values.merges), workers: Number(values.workers), seeds: values.seeds.split(',').map(Number),
    trainSeconds: Number(values['train-seconds']), noise: Number(values.noise), start: values.start, timeoutSeconds: Number(values.timeout)
  }
  if (!['far', 'near'].includes(opts.start)) throw new Error('--start is far (the cause\'s own constants) or near (close to the optimum)')
  const cause = simCostCause(opts.trainSeconds, { noise: opts.noise, ...(opts.start === 'near' ? { start: NEAR } : {}) })
  const log = (line: string): void => { process.stderr.write(`${line}\n`) }
  const variants: Record<'on' | 'off', RaceResult[]> = { on: [], off: [] }
  for (const seed of opts.seeds) {
    for (const cache of ['on', 'off'] as const) {
      log(`baseline cache ${cache}, seed ${seed}: ${opts.workers} workers until ${opts.merges} merges`)
      const result = await race({ cause, workers: opts.workers, seed, merges: opts.merges, timeoutSeconds: opts.timeoutSeconds, baselineCache: cache === 'on', log })
      log(`  ${result.merges} merges in ${result.seconds} s; verifier ${result.jobs} jobs, ${result.verifierSide.runs} runs (${result.cache.hits} cache hits); workers ${result.workerSide.runs} runs`)
      variants[cache].push(result)
    }
  }
  rmSync(cause, { recursive: true, force: true })
  const on = summary(variants.on)
  const off = summary(variants.off)
  const ratio = (key: string): number => round((off[key] as number) / (on[key] as number), 2)
  return {
    cause: 'sim-cost', ...opts, verifiers: 1, cacheOn: on, cacheOff: off,
    ratioOffOn: { verifierRunsPerMerge: ratio('verifierRunsPerMerge'), verifyComputeFraction: ratio('verifyComputeFraction') }
  }
}
