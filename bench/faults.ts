import { parseArgs } from 'node:util'
import { UsageError } from '@autoresearch/protocol'
import { crashLoop, PHASES, type CrashPhase, type IterationResult } from './lib/crash.ts'
import { numberFlag } from './lib/flags.ts'

/** A flag that is not a whole number. */
export class FaultsUsageError extends UsageError { override name = 'FaultsUsageError' }

/** The bench's options (`npm run bench -- faults --help` lists them). */
export const options = { iterations: { type: 'string', default: '60' }, speculation: { type: 'string', default: '12' }, batch: { type: 'string', default: '12' }, seed: { type: 'string', default: '1' } } as const

/**
 * Kill -9 of the coordinator at random points of intake, verification, merge and a merge
 * group's merge, restarted on the same home each time (see bench/lib/crash.ts for the checks);
 * then, on a home whose cause declares speculation, in the merge that a speculative
 * candidate's merge follows; then, on a home whose cause declares batches, in a lease that
 * forms a batch or the batch's merge. `--iterations N` (default 60) kills cycle through the
 * first four phases, `--speculation N` (default 12; 0 leaves it out) more are the fifth,
 * `--batch N` (default 12; 0 leaves it out) the last; `--seed N`.
 */
export async function run (args: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({ args, options })
  const whole = { min: 0, max: 100_000, whole: true }
  const [iterations, speculative, batched, seed] = (['iterations', 'speculation', 'batch', 'seed'] as const).map((name) => numberFlag(name, values[name], whole, FaultsUsageError)) as [number, number, number, number]
  const log = (line: string): void => { process.stderr.write(`${line}\n`) }
  const loops = [await crashLoop({ iterations, seed, log })]
  if (speculative > 0) loops.push(await crashLoop({ iterations: speculative, seed, phases: ['speculation'], speculative: true, log }))
  if (batched > 0) loops.push(await crashLoop({ iterations: batched, seed, phases: ['batch'], batched: true, log }))
  const results: IterationResult[] = loops.flatMap((l) => l.results)
  const restart = results.map((r) => r.restartMs).sort((a, b) => a - b)
  const pct = (p: number): number => Math.round(restart[Math.min(restart.length - 1, Math.floor(p * restart.length))] as number)
  const phases: CrashPhase[] = [...PHASES, ...(speculative > 0 ? ['speculation' as const] : []), ...(batched > 0 ? ['batch' as const] : [])]
  const byPhase = Object.fromEntries(phases.map((phase) => {
    const mine = results.filter((r) => r.phase === phase)
    return [phase, { kills: mine.length, answeredBeforeKill: mine.filter((r) => r.answered).length }]
  }))
  const violations = results.flatMap((r, i) => r.violations.map((v) => `kill ${i + 1}: ${v}`))
  const total = (of: (loop: typeof loops[number]) => number): number => loops.reduce((a, l) => a + of(l), 0)
  const candidates: Record<string, number> = {}
  for (const l of loops) for (const [state, n] of Object.entries(l.candidates)) candidates[state] = (candidates[state] ?? 0) + n
  return {
    kills: results.length,
    byPhase,
    violations: violations.length,
    violationDetails: violations.slice(0, 20),
    keptButUnansweredSubmissions: results.reduce((a, r) => a + r.keptUnanswered, 0),
    leasesReissued: results.reduce((a, r) => a + r.reissued, 0),
    refsRepairedAtStart: results.filter((r) => r.refRepaired).length,
    merges: total((l) => l.merges),
    candidates,
    groups: { formed: total((l) => l.groups.formed), merged: total((l) => l.groups.merged) },
    restartMsP50: pct(0.5),
    restartMsP99: pct(0.99)
  }
}
