import { rmSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { UsageError } from '@autoresearch/protocol'
import { listFlag, numberFlag } from './lib/flags.ts'
import { race, simCostCause, type RaceResult } from './lib/sim-network.ts'
import { SEEDS, TARGET, TIMEOUT, TRAIN_SECONDS, verifiersFor, WORKERS } from './scaling.ts'

/** A flag typed wrong (bench/run.ts prints it with the usage). */
export class SharedUsageError extends UsageError { override name = 'SharedUsageError' }

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
const round = (x: number, digits = 2): number => Number(x.toFixed(digits))

function summary (rs: RaceResult[]): Record<string, number> {
  const experiments = rs.reduce((a, r) => a + r.experiments, 0)
  const duplicates = rs.reduce((a, r) => a + r.duplicates, 0)
  return {
    seconds: round(mean(rs.map((r) => r.seconds)), 1),
    reached: rs.filter((r) => r.reached).length,
    merges: round(mean(rs.map((r) => r.merges)), 1),
    experiments: round(mean(rs.map((r) => r.experiments)), 1),
    duplicates: round(mean(rs.map((r) => r.duplicates)), 1),
    duplicateFraction: round(duplicates / Math.max(1, experiments), 3)
  }
}

/** The bench's options (`npm run bench -- shared --help` lists them). */
export const options = {
  workers: { type: 'string', default: '4' }, seeds: { type: 'string', default: '1,2,3' }, target: { type: 'string', default: '0.3' },
  'train-seconds': { type: 'string', default: '1' }, timeout: { type: 'string', default: '420' }
} as const

/**
 * Beside the scaling bench (issue [collab]): the same race, N search workers bringing the
 * sim-cost cause to the target, with workers that share their experiments (reports, the
 * network's history, claims) and with workers that search alone, seed by seed, interleaved.
 * A duplicate is an experiment that ran an edit some worker had already run on the same best.
 *
 * `npm run bench -- shared [--workers 4] [--seeds 1,2,3] [--target 0.3] [--train-seconds 1] [--timeout 420]`
 */
export async function run (args: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({ args, options })
  const E = SharedUsageError
  const workers = numberFlag('workers', values.workers, WORKERS, E)
  const seeds = listFlag('seeds', values.seeds, SEEDS, E)
  const target = numberFlag('target', values.target, TARGET, E)
  const timeoutSeconds = numberFlag('timeout', values.timeout, TIMEOUT, E)
  const cause = simCostCause(numberFlag('train-seconds', values['train-seconds'], TRAIN_SECONDS, E))
  const runs: Record<'shared' | 'alone', RaceResult[]> = { shared: [], alone: [] }
  for (const seed of seeds) {
    for (const variant of ['alone', 'shared'] as const) {
      process.stderr.write(`${variant}, ${workers} workers, seed ${seed}\n`)
      const r = await race({ cause, workers, verifiers: verifiersFor(workers), seed, target, timeoutSeconds, share: variant === 'shared', log: (l) => { process.stderr.write(`${l}\n`) } })
      process.stderr.write(`  ${r.reached ? 'reached' : 'did not reach'} ${target} in ${r.seconds} s: ${r.experiments} experiments, ${r.duplicates} duplicates\n`)
      runs[variant].push(r)
    }
  }
  rmSync(cause, { recursive: true, force: true })
  const shared = summary(runs.shared)
  const alone = summary(runs.alone)
  return {
    cause: 'sim-cost', workers, verifiers: verifiersFor(workers), seeds, target, shared, alone,
    // No ratio when sharing left no duplicate to divide by.
    duplicatesAloneOverShared: (shared.duplicates as number) === 0 ? null : round((alone.duplicates as number) / (shared.duplicates as number)),
    secondsAloneOverShared: round((alone.seconds as number) / (shared.seconds as number)),
    runs: (['alone', 'shared'] as const).flatMap((v) => runs[v].map((r, i) => ({ variant: v, seed: seeds[i], seconds: r.seconds, reached: r.reached, merges: r.merges, experiments: r.experiments, duplicates: r.duplicates, errors: r.errors.length })))
  }
}
