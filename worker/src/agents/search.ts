import { CONSTANT, experimentDiff } from '@autoresearch/protocol'
import type { Agent, AgentContext, Proposal } from './types.ts'

/** Draws per proposal at most: past them every edit drawn was tried already, and the agent proposes nothing. */
export const MAX_DRAWS = 16


/** Small deterministic PRNG (mulberry32) so a search is reproducible from its seed. */
export function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

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
      // An edit anyone already tried on this best (ctx.tried) is skipped, and another drawn.
      for (let draw = 0; draw < MAX_DRAWS; draw++) {
        const proposal = mutate(sites, random)
        if (proposal === null) return null
        if (ctx.tried === undefined || !ctx.tried.has(experimentDiff(ctx.files, proposal.edits).diffHash)) return proposal
      }
      return null
    }
  }
}

interface Site { path: string, lines: string[], line: number, name: string, eq: string, literal: string, rest: string }

/** One draw: a constant, scaled (floats) or nudged (integers). */
function mutate (sites: Site[], random: () => number): Proposal | null {
  const site = sites[Math.floor(random() * sites.length)]
  if (site === undefined) return null
  const { name, eq, literal, rest } = site
  const old = Number(literal)
  const isInt = !/[.eE]/.test(literal)
  let value: number
  if (isInt) {
    const step = Math.max(1, Math.round(Math.abs(old) * 0.25))
    value = old + (random() < 0.5 ? -step : step)
    if (old > 0 && value < 1) value = 1
  } else {
    const factors = [0.5, 0.7, 0.85, 1.2, 1.5, 2]
    value = old === 0 ? 0.01 * (random() < 0.5 ? 1 : -1) : old * (factors[Math.floor(random() * factors.length)] ?? 1)
  }
  const replacement = formatLike(literal, value)
  if (replacement === literal) return null
  const lines = [...site.lines]
  lines[site.line] = `${name}${eq}${replacement}${rest}`
  return { edits: { [site.path]: lines.join('\n') }, description: `${name} ${literal} -> ${replacement}` }
}
