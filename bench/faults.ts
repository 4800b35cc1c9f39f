import { parseArgs } from 'node:util'
import { crashLoop, PHASES } from './lib/crash.ts'

/**
 * Kill -9 of the coordinator at random points of intake, verification and merge,
 * restarted on the same home each time (see bench/lib/crash.ts for the checks).
 * `--iterations N` (default 60), `--seed N`.
 */
export async function run (args: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({ args, options: { iterations: { type: 'string', default: '60' }, seed: { type: 'string', default: '1' } } })
  const iterations = Number(values.iterations)
  const { results, merges, candidates, groups } = await crashLoop({ iterations, seed: Number(values.seed), log: (line) => process.stderr.write(`${line}\n`) })
  const restart = results.map((r) => r.restartMs).sort((a, b) => a - b)
  const pct = (p: number): number => Math.round(restart[Math.min(restart.length - 1, Math.floor(p * restart.length))] as number)
  const byPhase = Object.fromEntries(PHASES.map((phase) => {
    const mine = results.filter((r) => r.phase === phase)
    return [phase, { kills: mine.length, answeredBeforeKill: mine.filter((r) => r.answered).length }]
  }))
  const violations = results.flatMap((r, i) => r.violations.map((v) => `kill ${i + 1}: ${v}`))
  return {
    kills: results.length,
    byPhase,
    violations: violations.length,
    violationDetails: violations.slice(0, 20),
    keptButUnansweredSubmissions: results.reduce((a, r) => a + r.keptUnanswered, 0),
    leasesReissued: results.reduce((a, r) => a + r.reissued, 0),
    refsRepairedAtStart: results.filter((r) => r.refRepaired).length,
    merges,
    candidates,
    groups,
    restartMsP50: pct(0.5),
    restartMsP99: pct(0.99)
  }
}
