import { CONSTANT, experimentDiff, prng } from '@autoresearch/protocol'
import type { Agent, AgentContext, Proposal } from './types.ts'

/** Draws per proposal at most: past them every edit drawn was tried already, and the agent proposes nothing. */
export const MAX_DRAWS = 16

function formatLike (original: string, value: number): string {
  if (!/[.eE]/.test(original)) return String(Math.round(value))
  const text = Number(value.toPrecision(4)).toString()
  return /[.eE]/.test(text) ? text : `${text}.0`
}

/**
 * The offline agent: picks one numeric constant in an editable file and scales
 * it (floats) or nudges it (integers), skipping edits already tried on this best. No LLM,
 * no network; the default in the demo and in tests.
 */
export function searchAgent (opts: { seed?: number } = {}): Agent {
  const random = prng(opts.seed ?? Date.now())
  return {
    name: 'search',
    async propose (ctx: AgentContext): Promise<Proposal | null> {
      const sites: Site[] = []
      for (const [path, text] of Object.entries(ctx.files)) {
        const lines = text.split('\n')
        lines.forEach((line, i) => {
          // Every group of CONSTANT takes part in any match: none is ever undefined.
          const [, name = '', eq = '', literal = '', rest = ''] = line.match(CONSTANT) ?? []
          if (name !== '') sites.push({ path, lines, line: i, name, eq, literal, rest })
        })
      }
      // No draw when there is nothing to tune: the seed's sequence stays the same.
      if (sites.length === 0) return null
      const aim = ctx.hypothesis === undefined ? undefined : aimOf(ctx.hypothesis.text, sites)
      const pool = aim === undefined ? sites : sites.filter((x) => aim.names.has(x.name))
      // An edit anyone already tried on this best (ctx.tried) is skipped, and another drawn.
      for (let draw = 0; draw < MAX_DRAWS; draw++) {
        const proposal = mutate(pool, random, { bold: ctx.bold === true, way: aim?.way })
        if (proposal === null) return null
        if (ctx.tried === undefined || !ctx.tried.has(experimentDiff(ctx.files, proposal.edits).diffHash)) return proposal
      }
      return null
    }
  }
}

interface Site { path: string, lines: string[], line: number, name: string, eq: string, literal: string, rest: string }

const UP = /\b(increase|raise|higher|larger|bigger|more|up|double|grow)\b/i
const DOWN = /\b(decrease|lower|reduce|smaller|less|down|halve|shrink)\b/i

/**
 * What a planner's hypothesis points at, as this agent can follow it: the constants it names
 * (none named: undefined, any constant) and the way it says to move them.
 */
export function aimOf (text: string, sites: Array<{ name: string }>): { names: Set<string>, way?: 'up' | 'down' } | undefined {
  const names = new Set(sites.map((x) => x.name).filter((name) => new RegExp(`\\b${name}\\b`).test(text)))
  if (names.size === 0) return undefined
  const up = UP.test(text)
  const down = DOWN.test(text)
  return { names, ...(up !== down ? { way: up ? 'up' as const : 'down' as const } : {}) }
}

/**
 * One draw: a constant, scaled (floats) or nudged (integers); `bold` takes larger steps (a
 * plateau), `way` moves it up or down only (a hypothesis said which).
 */
function mutate (sites: Site[], random: () => number, opts: { bold: boolean, way?: 'up' | 'down' }): Proposal | null {
  const site = sites[Math.floor(random() * sites.length)]
  if (site === undefined) return null
  const { name, eq, literal, rest } = site
  const old = Number(literal)
  const isInt = !/[.eE]/.test(literal)
  // Drawn only where the way is open, so a seed's sequence without a hypothesis stays what it was.
  const fixed = opts.way === undefined ? undefined : (opts.way === 'up' ? 1 : -1)
  let value: number
  if (isInt) {
    const step = Math.max(opts.bold ? 2 : 1, Math.round(Math.abs(old) * (opts.bold ? 0.5 : 0.25)))
    value = old + (fixed ?? (random() < 0.5 ? -1 : 1)) * step
    if (old > 0 && value < 1) value = 1
  } else if (old === 0) {
    value = 0.01 * (fixed ?? (random() < 0.5 ? 1 : -1))
  } else {
    const all = opts.bold ? [0.25, 0.4, 2.5, 4] : [0.5, 0.7, 0.85, 1.2, 1.5, 2]
    // Moving a positive value up scales it by more than 1; a negative one, by less.
    const factors = fixed === undefined ? all : all.filter((f) => (f > 1) === ((fixed > 0) === (old > 0)))
    value = old * (factors[Math.floor(random() * factors.length)] ?? 1)
  }
  const replacement = formatLike(literal, value)
  if (replacement === literal) return null
  const lines = [...site.lines]
  lines[site.line] = `${name}${eq}${replacement}${rest}`
  return { edits: { [site.path]: lines.join('\n') }, description: `${name} ${literal} -> ${replacement}` }
}
