/** What the selection reads of a reported experiment. */
export interface Tried { seq: number, status: string, metric: number | null, diff_hash: string }

/** The share of the places that goes to the asked best when bests before it have experiments too. */
const OWN_SHARE = 0.6

/**
 * The experiments an agent is shown, `limit` at most: for each best from the asked one back
 * (`levels[0]` is the asked best, each list newest first), one report per distinct edit (its
 * newest), then the best runs and the worst (crashes count as worst), half and half. The asked
 * best gets the larger share; what a level does not use passes to the next. Ordered by level,
 * then best first.
 */
export function pickHistory<T extends Tried> (levels: T[][], direction: 'minimize' | 'maximize', limit: number): Array<{ row: T, bestsBack: number }> {
  const out: Array<{ row: T, bestsBack: number }> = []
  const others = levels.slice(1).some((l) => l.length > 0)
  let left = limit
  levels.forEach((rows, bestsBack) => {
    if (left <= 0) return
    const quota = bestsBack === 0 && others ? Math.ceil(limit * OWN_SHARE) : left
    const distinct = [...new Map([...rows].reverse().map((r) => [r.diff_hash, r])).values()]
    const ranked = distinct.sort((a, b) => score(b, direction) - score(a, direction) || b.seq - a.seq)
    const take = Math.min(quota, ranked.length)
    const top = ranked.slice(0, Math.ceil(take / 2))
    const bottom = ranked.slice(Math.max(top.length, ranked.length - Math.floor(take / 2)))
    for (const row of [...top, ...bottom]) out.push({ row, bestsBack })
    left -= top.length + bottom.length
  })
  return out
}

/** Higher is better; a crash or a run without a metric is the worst. */
function score (r: Tried, direction: 'minimize' | 'maximize'): number {
  if (r.metric === null || r.status === 'crash') return -Infinity
  return direction === 'minimize' ? -r.metric : r.metric
}
