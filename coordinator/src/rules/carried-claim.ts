import type { MergeRow } from '../store/index.ts'

/** The verified merge that made `commit` the best (still standing), if one did. */
export type MergeOf = (commit: string) => Pick<MergeRow, 'parent_oid' | 'metric' | 'baseline_metric'> | undefined

/**
 * What a candidate carried from `parent` onto `best` claims there: its claim moved by what
 * the merges in between were verified to gain (each merge's verified metric less its
 * baseline's, on the same seeds), so that queue order compares it with claims made on
 * `best` itself instead of holding it behind them by the very gains it was carried over.
 * The same shift whatever the metric's direction. Where the chain from `best` back to
 * `parent` is not all verified merges (a revert, a program update, the initial commit in
 * between), the claim stays as it was.
 */
export function carriedClaim (claimed: number, parent: string, best: string, mergeOf: MergeOf, maxSteps = 10_000): number {
  let shift = 0
  let at = best
  for (let step = 0; step < maxSteps && at !== parent; step++) {
    const merge = mergeOf(at)
    if (merge === undefined || merge.parent_oid === null || merge.metric === null || merge.baseline_metric === null) return claimed
    shift += merge.metric - merge.baseline_metric
    at = merge.parent_oid
  }
  return at === parent ? claimed + shift : claimed
}
