import * as fs from 'node:fs'
import { createRequire, syncBuiltinESMExports } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { UsageError } from '@autoresearch/protocol'
import { selectBackend, stopSpawner, useSpawner } from '@autoresearch/runner'
import { numberFlag } from './lib/flags.ts'
import { paceTrial, pool, simCostRepo } from './lib/trial-pace.ts'
import { TRAIN_SECONDS } from './scaling.ts'

/** A flag of `npm run bench -- sandbox` out of its range. */
export class SandboxUsageError extends UsageError { override name = 'SandboxUsageError' }

/** The builtin's own object, whose properties its ESM named exports are synced from. */
const childProcess = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process')

interface Spawned { count: number, ms: number }

/**
 * Counts every child the process starts and the time `spawn` holds the event loop (libuv
 * forks, then waits until the child has exec'd): builtin modules' named imports follow
 * the patched function once syncBuiltinESMExports has run.
 */
function watchSpawns (): { byProgram: Map<string, Spawned>, stop: () => void } {
  const original = childProcess.spawn
  const byProgram = new Map<string, Spawned>()
  const counted = function (this: unknown, ...args: Parameters<typeof original>): ReturnType<typeof original> {
    const started = performance.now()
    const child = original.apply(this, args)
    const file = String(args[0]).split('/').at(-1) as string
    const s = byProgram.get(file) ?? { count: 0, ms: 0 }
    byProgram.set(file, { count: s.count + 1, ms: s.ms + performance.now() - started })
    return child
  } as typeof original
  Object.assign(childProcess, { spawn: counted })
  syncBuiltinESMExports()
  return { byProgram, stop: () => { Object.assign(childProcess, { spawn: original }); syncBuiltinESMExports() } }
}

/** The bench's options (`npm run bench -- sandbox --help` lists them). */
export const options = { trials: { type: 'string', default: '48' }, concurrency: { type: 'string', default: '8' }, 'train-seconds': { type: 'string', default: '1' } } as const

/**
 * What one trial costs the runner's machine besides its training: sim-cost trials (a
 * candidate on the best, checked out from git as a verifier does) in the bubblewrap
 * sandbox, first one at a time, then `--concurrency` at once in one process as in the
 * scaling bench, side by side, and then side by side again with every child started from
 * the runner's spawner process (`useSpawner`). Reports seconds per trial against the simulated training,
 * the children each trial starts by program, and how long their spawns held the event loop.
 *
 * `npm run bench -- sandbox [--trials 48] [--concurrency 8] [--train-seconds 1]`
 */
export async function run (args: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({ args, options })
  const trials = numberFlag('trials', values.trials, { min: 1, max: 10_000, whole: true }, SandboxUsageError)
  const concurrency = numberFlag('concurrency', values.concurrency, { min: 1, max: 256, whole: true }, SandboxUsageError)
  const trainSeconds = numberFlag('train-seconds', values['train-seconds'], TRAIN_SECONDS, SandboxUsageError)
  const repo = await simCostRepo(trainSeconds)
  const backend = selectBackend({ sandbox: 'bwrap' })
  const dataRoot = fs.mkdtempSync(join(tmpdir(), 'ar-bench-sandbox-data-'))
  const trial = paceTrial(repo, backend, dataRoot)
  await trial(0) // prepare's cache, which every later trial shares

  const measure = async (parallel: number): Promise<Record<string, unknown>> => {
    const n = Math.max(parallel, Math.round(trials / parallel) * parallel)
    const spawns = watchSpawns()
    const loop = performance.eventLoopUtilization()
    let seconds: number
    try {
      seconds = await pool(trial, parallel, n)
    } finally {
      spawns.stop()
    }
    const all = [...spawns.byProgram.values()]
    console.error(`  ${n} trials, ${parallel} at once: ${seconds.toFixed(1)} s`)
    return {
      concurrency: parallel,
      trials: n,
      seconds: Number(seconds.toFixed(2)),
      secondsPerTrial: Number((seconds * parallel / n).toFixed(3)),
      overheadPerTrial: Number((seconds * parallel / n - trainSeconds).toFixed(3)),
      spawnsPerTrial: Number((all.reduce((a, s) => a + s.count, 0) / n).toFixed(2)),
      spawnMsPerTrial: Number((all.reduce((a, s) => a + s.ms, 0) / n).toFixed(1)),
      byProgram: Object.fromEntries([...spawns.byProgram].map(([file, s]) => [file, { perTrial: Number((s.count / n).toFixed(2)), msEach: Number((s.ms / s.count).toFixed(1)) }])),
      eventLoopUtilization: Number(performance.eventLoopUtilization(loop).utilization.toFixed(2))
    }
  }
  const alone = await measure(1)
  const together = await measure(concurrency)
  // The same side by side, every child started from the spawner process (useSpawner) instead of this one.
  useSpawner()
  let spawner: Record<string, unknown>
  try {
    await trial(0) // the spawner process starts
    spawner = { ...await measure(concurrency), spawner: true }
  } finally {
    stopSpawner()
  }
  const perTrial = (row: Record<string, unknown>): number => row.secondsPerTrial as number
  return {
    trials,
    concurrency,
    trainSeconds,
    sandbox: backend.name,
    rows: [alone, together, spawner],
    slowdown: Number((perTrial(together) / perTrial(alone)).toFixed(2)),
    ratios: { spawner: Number((perTrial(together) / perTrial(spawner)).toFixed(2)) }
  }
}
