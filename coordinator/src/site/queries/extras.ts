import type { Trial } from '@autoresearch/protocol'

/** One figure evaluate wrote beside the metric, averaged over the trials that carried it. */
export interface ExtraFigure {
  name: string
  /** Mean over the baseline runs that reported it; null when none did. */
  baseline: number | null
  candidate: number | null
  /** Runs that reported it, each side. */
  baselineRuns: number
  candidateRuns: number
}

const mean = (xs: number[]): number | null => xs.length === 0 ? null : xs.reduce((a, x) => a + x, 0) / xs.length

/** The extra result figures (params, ...) of a candidate's trials, by name: each side's mean. */
export function extraFigures (trials: Array<Pick<Trial, 'baselineExtras' | 'candidateExtras'>>): ExtraFigure[] {
  const sides = new Map<string, { baseline: number[], candidate: number[] }>()
  const add = (side: 'baseline' | 'candidate', extras: Record<string, number> | undefined): void => {
    for (const [name, v] of Object.entries(extras ?? {})) {
      const entry = sides.get(name) ?? { baseline: [], candidate: [] }
      entry[side].push(v)
      sides.set(name, entry)
    }
  }
  for (const t of trials) {
    add('baseline', t.baselineExtras)
    add('candidate', t.candidateExtras)
  }
  return [...sides].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([name, s]) => ({
    name, baseline: mean(s.baseline), candidate: mean(s.candidate), baselineRuns: s.baseline.length, candidateRuns: s.candidate.length
  }))
}
