/** What the parent rule reads of a submission's parent. */
export interface ParentOf {
  /** The parent is a best this cause merged (or the initial commit). */
  merged: boolean
  /** The submitter of the candidate whose commit the parent is; undefined when it is none. */
  candidateOf?: string
}

/**
 * Whether a submission may name `parent`: a best, or a candidate still in the queue that this
 * one then waits for (carry-plan.ts) and is measured against, so that what it credits is its own
 * step. The submitter's own candidate always (a later find that needs the earlier one); another
 * key's only where the cause declares `collaboration.buildOnPending` (docs/trust.md, "Building
 * on a pending candidate"). Any state: a parent decided meanwhile is followed as its lineage is.
 */
export function mayBuildOn (parent: ParentOf, submitter: string, opts: { buildOnPending: boolean }): boolean {
  if (parent.merged) return true
  if (parent.candidateOf === undefined) return false
  return parent.candidateOf === submitter || opts.buildOnPending
}
