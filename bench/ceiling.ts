/**
 * `npm run bench -- ceiling [--searchers 1,2,4,8,16] [--races 200] [--target 0.3] [--start far|cause] [--knobs 0] [--inert 0] [--max-rounds 400]`
 *
 * What the scaling bench's search could reach with verification free and instant: N copies of
 * the worker's own search agent (worker/src/agents/search.ts, seeded as the scaling bench seeds
 * them) on the sim-cost cause's train.py, in rounds. Each round every searcher proposes one
 * edit on the current best (edits tried on that best are skipped, as the network's claims and
 * history make them), the edit is scored on the cause's bowl without its noise (the constants'
 * optima read from the cause's own evaluate.py), and an edit that gains more than
 * minImprovement is a find; then either the round's best find merges (`one`: a merge step
 * carries one find, as the 1-s race's steps do) or every constant's best find merges at once
 * (`combined`: a perfect merge group each round). A searcher is bold after `plateau` rounds
 * in a row without a find of its own, as the worker is (worker/src/operations/plateau.ts). Rounds to
 * the target, mean over `races` races, for each N: the speedup over the first N is the most
 * the network could show on this cause and agent if verification, confirmation and
 * measurement cost nothing (docs/benchmarks.md, "The search's own ceiling").
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { CONSTANT, constantsOf, experimentDiff, improvement, parseManifestText, UsageError, type Manifest } from '@autoresearch/protocol'
import { searchAgent, type Agent } from 'autoresearch-worker'
import { boldNow } from '../worker/src/operations/plateau.ts'
import { simCostCause } from './lib/sim-network.ts'
import { listFlag, numberFlag } from './lib/flags.ts'
import { raceCopy, TARGET } from './scaling.ts'

export class CeilingUsageError extends UsageError { override name = 'CeilingUsageError' }

export type Merging = 'one' | 'combined'

/** The cause a race searches: its manifest, its train.py at the start, and its bowl's optima by constant. */
export interface Landscape { manifest: Manifest, train: string, optimum: Record<string, number> }

/** The sim-cost cause's copy as the scaling bench makes it (`start`, `knobs`, `inert`), read into a Landscape. */
export function landscape (opts: { start?: Record<string, number>, knobs?: number, inert?: number }): Landscape {
  const dir = simCostCause(0, { ...(opts.start === undefined ? {} : { start: opts.start }), knobs: opts.knobs, inert: opts.inert })
  try {
    // evaluate.py's own OPTIMUM (KNOBS included), read by Python, so the bowl here is the cause's.
    const optimum = JSON.parse(execFileSync('python3', ['-c', 'import json, runpy; print(json.dumps(runpy.run_path("evaluate.py")["OPTIMUM"]))'], { cwd: dir, encoding: 'utf8' })) as Record<string, number>
    return { manifest: parseManifestText(readFileSync(join(dir, 'autoresearch.json'), 'utf8')), train: readFileSync(join(dir, 'train.py'), 'utf8'), optimum }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** evaluate.py's loss without its seed noise: the sum over the optima of ln(value / optimum)². */
export function bowl (optimum: Record<string, number>, train: string): number {
  const values = constantsOf(train)
  let loss = 0
  for (const [name, best] of Object.entries(optimum)) {
    const value = values.get(name.toUpperCase())
    if (value === undefined || !(value > 0)) return Infinity
    loss += Math.log(value / best) ** 2
  }
  return loss
}

interface Find { train: string, loss: number, changed: string[] }

/** The constants `after` sets differently from `before`. */
function changedConstants (before: string, after: string): string[] {
  const a = constantsOf(before)
  return [...constantsOf(after)].filter(([name, value]) => a.get(name) !== value).map(([name]) => name)
}

/** `base` with each constant a find changed set as that find has it. */
function combine (base: string, finds: Find[]): string {
  const lines = base.split('\n')
  const sets = (name: string) => (line: string): boolean => line.match(CONSTANT)?.[1] === name
  for (const find of finds) {
    const theirs = find.train.split('\n')
    for (const name of find.changed) {
      const at = lines.findIndex(sets(name))
      const line = theirs.find(sets(name))
      if (at >= 0 && line !== undefined) lines[at] = line
    }
  }
  return lines.join('\n')
}

/** One race: rounds until the best's loss is at most `target` (maxRounds when it never is), and the merge steps taken. */
export async function race (land: Landscape, opts: { searchers: number, seed: number, merging: Merging, target: number, maxRounds: number }): Promise<{ rounds: number, merges: number }> {
  const { manifest, optimum } = land
  const agents: Agent[] = Array.from({ length: opts.searchers }, (_, i) => searchAgent({ seed: opts.seed * 1000 + i }))
  const plateau = manifest.collaboration.plateau
  let best = land.train
  let bestLoss = bowl(optimum, best)
  let tried = new Set<string>()
  // Rounds in a row without a find, by searcher: as the worker's plateau, a merge of another's find does not end the count.
  const sinceFind = agents.map(() => 0)
  let merges = 0
  for (let round = 1; round <= opts.maxRounds; round++) {
    const finds: Find[] = []
    for (const [i, agent] of agents.entries()) {
      const idle = sinceFind[i] as number
      const files = { 'train.py': best }
      const proposal = await agent.propose({ manifest, program: '', files, recent: [], tried, ...(boldNow(idle, plateau) ? { bold: true } : {}), checkout: async () => {} })
      if (proposal === null) { sinceFind[i] = idle + 1; continue }
      tried.add(experimentDiff(files, proposal.edits).diffHash)
      const train = proposal.edits['train.py'] ?? best
      const loss = bowl(optimum, train)
      if (improvement(manifest, bestLoss, loss) > manifest.verification.minImprovement) {
        finds.push({ train, loss, changed: changedConstants(best, train) })
        sinceFind[i] = 0
      } else {
        sinceFind[i] = idle + 1
      }
    }
    if (finds.length > 0) {
      finds.sort((a, b) => a.loss - b.loss)
      if (opts.merging === 'one') {
        best = (finds[0] as Find).train
      } else {
        // Each constant's best find, best first; a find that moves a constant already taken stays out.
        const taken = new Set<string>()
        const members: Find[] = []
        for (const f of finds) {
          if (f.changed.some((c) => taken.has(c))) continue
          members.push(f)
          for (const c of f.changed) taken.add(c)
        }
        best = combine(best, members)
      }
      bestLoss = bowl(optimum, best)
      merges++
      tried = new Set()
    }
    if (bestLoss <= opts.target) return { rounds: round, merges }
  }
  return { rounds: opts.maxRounds, merges }
}

/**
 * `findRate`: merge steps per proposal, the share of experiments that move the best (for one
 * searcher, how rare a find is; real autoresearch kept about 20 of 700, 0.03).
 */
export interface CeilingRow { searchers: number, merging: Merging, rounds: number, reached: number, merges: number, findRate: number, speedup: number, efficiency: number }

export async function ceiling (land: Landscape, opts: { searchers: number[], races: number, target: number, maxRounds: number }): Promise<CeilingRow[]> {
  const rows: CeilingRow[] = []
  for (const merging of ['one', 'combined'] as const) {
    let first: number | undefined
    for (const n of opts.searchers) {
      const races: Array<{ rounds: number, merges: number }> = []
      for (let seed = 1; seed <= opts.races; seed++) races.push(await race(land, { searchers: n, seed, merging, target: opts.target, maxRounds: opts.maxRounds }))
      const rounds = races.map((r) => r.rounds)
      const allRounds = rounds.reduce((a, b) => a + b, 0)
      const mean = allRounds / rounds.length
      const merges = races.reduce((a, r) => a + r.merges, 0)
      first ??= mean
      const speedup = first / mean
      rows.push({ searchers: n, merging, rounds: Number(mean.toFixed(1)), reached: rounds.filter((r) => r < opts.maxRounds).length, merges: Number((merges / races.length).toFixed(1)), findRate: Number((merges / (n * allRounds)).toFixed(3)), speedup: Number(speedup.toFixed(2)), efficiency: Number((speedup * (opts.searchers[0] as number) / n).toFixed(2)) })
    }
  }
  return rows
}

/** The bench's options (`npm run bench -- ceiling --help` lists them). */
export const options = {
  searchers: { type: 'string', default: '1,2,4,8,16' }, races: { type: 'string', default: '200' }, target: { type: 'string', default: '0.3' },
  start: { type: 'string', default: 'far' }, knobs: { type: 'string', default: '0' }, inert: { type: 'string', default: '0' }, 'max-rounds': { type: 'string', default: '400' }
} as const

export async function run (args: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({ args, options })
  const E = CeilingUsageError
  const searchers = listFlag('searchers', values.searchers, { min: 1, max: 256, whole: true }, E)
  // How many races each row averages; the loss to reach; the rounds each race may take.
  const races = numberFlag('races', values.races, { min: 1, max: 10_000, whole: true }, E)
  const target = numberFlag('target', values.target, TARGET, E)
  const maxRounds = numberFlag('max-rounds', values['max-rounds'], { min: 1, max: 100_000, whole: true }, E)
  const copy = raceCopy(values, CeilingUsageError)
  const { knobs, inert } = copy
  const land = landscape(copy)
  const rows = await ceiling(land, { searchers, races, target, maxRounds })
  const at = (merging: Merging, n: number): CeilingRow | undefined => rows.find((r) => r.merging === merging && r.searchers === n)
  const last = searchers.at(-1) as number
  return {
    cause: 'sim-cost', searchers, races, target, start: values.start, knobs, inert, maxRounds, startLoss: Number(bowl(land.optimum, land.train).toFixed(2)), rows,
    // The last N's speedup with a perfect merge group each round against one find a round.
    combinedOverOne: Number(((at('combined', last)?.speedup ?? 0) / Math.max(1e-9, at('one', last)?.speedup ?? 0)).toFixed(2))
  }
}
