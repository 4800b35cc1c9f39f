/**
 * `npm run bench -- simulate [--volunteers 1,10,100,1000] [--variants serial,whole,now,helping,ahead,ahead-whole,batched,ahead-batched,reused,accepting,every] [--slots 1] [--hours 24] [--seed 1]
 * [--p 0.03] [--c 0.1] [--conflict-per carry|change] [--gain-mean 3] [--noise 0.01] [--run-seconds 300] [--trials 3] [--max-events 3000000] [--big-hours 6] [--max-wall 120] [--jitter 0.02]`
 *
 * A discrete-event simulation of the network at real scale (300-s runs) driving the
 * coordinator's real decision code on a virtual clock (bench/lib/sim/), for each variant of
 * the network side by side: `serial` (before issue 14), `whole` (today's without split rounds:
 * each round on one verifier), `now` (today's defaults) and `helping` (today's, every volunteer
 * with --also-verify), `ahead` and `ahead-whole` (`now` and `whole` with speculation, window 4:
 * coordinator/src/speculate.ts), `batched` and `ahead-batched` (`now` and `ahead` with batches of up
 * to 8: coordinator/src/batch.ts), `reused` (`now` with `verification.reuseCandidateRuns`:
 * coordinator/src/seeds.ts), `accepting` (`whole` with early acceptance, `sequential.accept` 0.02:
 * protocol/src/sequential.ts), `every` (`accepting` with reuse, speculation and batches: every
 * saving, the one variant where a job waits for the verifier holding its runs, rules/holder.ts); `--slots` sets the verifiers' slots in all but `serial`. Rows of 100
 * volunteers and more run `--big-hours` simulated hours instead of `--hours` to stay within
 * minutes of wall time, and every row stops after `--max-wall` seconds of wall time (it then
 * reports `capped` and the simulated hours it reached); merges per hour are rates, so the rows compare.
 * `--jitter` spreads each verifier run's time by ±jitter/2 (0: every run exactly --run-seconds).
 */
import { parseArgs } from 'node:util'
import { UsageError } from '@autoresearch/protocol'
import { simulate, VARIANTS, type SimRow } from './lib/sim/simulation.ts'
import { listFlag, namesFlag, numberFlag } from './lib/flags.ts'

export class SimulateUsageError extends UsageError { override name = 'SimulateUsageError' }

const BIG = 100

/** The bench's options (`npm run bench -- simulate --help` lists them). */
export const options = {
  volunteers: { type: 'string', default: '1,10,100,1000' }, variants: { type: 'string', default: 'serial,whole,now,helping' }, slots: { type: 'string', default: '1' }, hours: { type: 'string', default: '24' }, 'big-hours': { type: 'string', default: '6' },
  seed: { type: 'string', default: '1' }, p: { type: 'string', default: '0.03' }, c: { type: 'string', default: '0.1' }, 'conflict-per': { type: 'string', default: 'carry' },
  'gain-mean': { type: 'string', default: '3' }, noise: { type: 'string', default: '0.01' }, 'run-seconds': { type: 'string', default: '300' },
  trials: { type: 'string', default: '3' }, 'max-events': { type: 'string', default: '3000000' }, 'max-wall': { type: 'string', default: '120' },
  jitter: { type: 'string', default: '0.02' }
} as const

export async function run (args: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({ args, options })
  const num = (name: Exclude<keyof typeof values, 'volunteers' | 'variants' | 'conflict-per'>): number => numberFlag(name, values[name], { min: 0 }, SimulateUsageError)
  const volunteers = listFlag('volunteers', values.volunteers, { min: 1, max: 100_000, whole: true }, SimulateUsageError)
  const model = { p: num('p'), c: num('c'), gainMean: num('gain-mean'), noise: num('noise'), runSeconds: num('run-seconds'), trials: num('trials'), seed: num('seed'), maxEvents: num('max-events'), maxWallSeconds: num('max-wall'), jitter: num('jitter') }
  if (model.p > 1 || model.c > 1) throw new SimulateUsageError('--p and --c are probabilities in [0, 1]')
  if (model.jitter > 1) throw new SimulateUsageError('--jitter is the spread of a verifier run\'s time as a fraction of --run-seconds, in [0, 1]')
  const conflictPer = values['conflict-per']
  if (conflictPer !== 'carry' && conflictPer !== 'change') throw new SimulateUsageError('--conflict-per is carry (c for each carry onto a new best) or change (c for each change merged since the candidate\'s parent)')
  const names = Object.keys(VARIANTS) as Array<keyof typeof VARIANTS>
  const variants = namesFlag('variants', values.variants, names, SimulateUsageError, `one or more of ${names.join(', ')}`)
  const slots = num('slots')
  if (!Number.isInteger(slots) || slots < 1) throw new SimulateUsageError('--slots is a positive integer')
  type Row = SimRow & { variant: string, wallSeconds: number }
  const rows: Row[] = []
  for (const n of volunteers) {
    const hours = n >= BIG ? Math.min(num('big-hours'), num('hours')) : num('hours')
    for (const variant of variants) {
      const base = VARIANTS[variant]
      const features = variant === 'serial' ? base : { ...base, slots }
      process.stderr.write(`${variant}: ${n} volunteer(s), ${hours} simulated hours… `)
      const started = performance.now()
      const row = simulate({ ...model, conflictPer, volunteers: n, hours, features })
      const wallSeconds = Number(((performance.now() - started) / 1000).toFixed(1))
      process.stderr.write(`${row.merges} merges (${row.mergesPerHour}/h), ${row.merged} submissions merged (${row.mergedPerHour}/h, ${row.mergedBelowMargin} of them below the margin), true gain ${row.trueGainPerHour}/h, ${row.groups} groups, verify share ${row.verifyShare}, ${row.events} events in ${wallSeconds} s${row.capped ? ` (cap hit at ${row.hours} simulated hours)` : ''}\n`)
      rows.push({ variant, ...row, wallSeconds })
    }
  }
  const ratio = (x: number, y: number | undefined): number | null => y === undefined || y === 0 ? null : Number((x / y).toFixed(2))
  const rate = (variant: string, n: number | undefined): number | undefined => rows.find((r) => r.variant === variant && r.volunteers === n)?.mergedPerHour
  return {
    model: { ...model, conflictPer, slots, hours: num('hours'), bigHours: num('big-hours'), bigFrom: BIG, sizes: 'exponential, mean gain-mean × minImprovement (0.05)' },
    variants: Object.fromEntries(variants.map((v) => [v, VARIANTS[v]])),
    rows,
    ratios: rows.map((r) => {
      const i = volunteers.indexOf(r.volunteers)
      return {
        variant: r.variant,
        volunteers: r.volunteers,
        mergedPerHourVsFirst: ratio(r.mergedPerHour, rate(r.variant, volunteers[0])),
        mergedPerHourVsPrevious: i === 0 ? null : ratio(r.mergedPerHour, rate(r.variant, volunteers[i - 1])),
        mergedPerHourVsSerial: ratio(r.mergedPerHour, rate('serial', r.volunteers))
      }
    })
  }
}
