/**
 * Speculative verification, in the style of Zuul's dependent pipelines (docs/trust.md,
 * "Speculation"): while a candidate on the best is being verified, the next candidate in the
 * queue whose change merges cleanly onto it is carried onto it and verified there, against
 * it, so that if the first merges the second's verdict is already on the new best. The
 * chain grows up to the coordinator's window, which grows by one each time a candidate on the
 * best merges and halves each time one is rejected, never past the cause's `window`.
 */
import { MAX_SPECULATION_WINDOW } from '@autoresearch/protocol'

/** An open candidate (queued, verifying or passed) as speculation reads it. */
export interface OpenCandidate {
  seq: number
  commit: string
  parent: string
  /** A live lease on it, or it passed: its verdict is coming or known. */
  inFlight: boolean
}

/**
 * Commits of the open candidates that descend from the best through open candidates only.
 * A candidate on one of them was carried there to be verified on top of it: it waits for its
 * parent's verdict instead of being carried back onto the best.
 */
export function openAhead (best: string, open: readonly OpenCandidate[]): Set<string> {
  const reached = new Set([best])
  const ahead = new Set<string>()
  // Each pass adds a generation; a chain is at most the window deep, so this ends quickly.
  for (let grew = true; grew;) {
    grew = false
    for (const c of open) {
      if (ahead.has(c.commit) || !reached.has(c.parent)) continue
      ahead.add(c.commit)
      reached.add(c.commit)
      grew = true
    }
  }
  return ahead
}

/**
 * The chain being verified, from the best down: a candidate in flight on the best, then one
 * in flight on it, and so on. Where several are in flight on one parent, the one that already
 * has candidates on it continues the chain, else the first in `open`'s order (queue order).
 */
export function speculationChain (best: string, open: readonly OpenCandidate[]): OpenCandidate[] {
  const hasChildren = new Set(open.map((c) => c.parent))
  const chain: OpenCandidate[] = []
  let parent = best
  for (let depth = 0; depth <= MAX_SPECULATION_WINDOW; depth++) {
    const here = open.filter((c) => c.parent === parent && c.inFlight)
    const next = here.find((c) => hasChildren.has(c.commit)) ?? here[0]
    if (next === undefined) break
    chain.push(next)
    parent = next.commit
  }
  return chain
}

/** May a candidate be carried onto the chain's tip now: `chain.length` levels are in flight, at most `window` of them speculative. */
export const mayExtend = (chain: readonly OpenCandidate[], window: number): boolean => chain.length > 0 && chain.length <= window

/** The window after a verdict on a candidate whose parent was the best: one more after a merge, half after a rejection. */
export function nextWindow (window: number, verdict: 'merged' | 'rejected', max: number): number {
  return verdict === 'merged' ? Math.min(max, window + 1) : Math.floor(window / 2)
}

/**
 * A rejection measured against a commit that never became a best (a candidate still being
 * verified, or one that failed since) is provisional: it stands once that commit merges; if it
 * never does, the candidate is carried back onto the best and verified there.
 */
export const provisionalRejection = (state: string, parentMerged: boolean): boolean => state === 'rejected' && !parentMerged
