/** Proposals in a row that were empty before the loop pauses (an agent that draws at random proposes nothing by chance). */
export const EMPTY_BEFORE_PAUSE = 3

/** How the agent has fared since its last proposal that was run: failed proposals and empty ones, in a row (empty ones on the best the worker is at). */
export interface AgentTrouble { errors: number, empty: number }

/**
 * How long the loop pauses before asking the agent again, in ms (0: at once). An agent that
 * failed (its endpoint down after the agent's own retries, a CLI agent that crashed) would
 * fail again at once: the pause doubles from `minMs` to `maxMs` per failure in a row.
 * Empty proposals pause only from the EMPTY_BEFORE_PAUSE-th in a row on. A proposal that is run resets both.
 */
export function agentPause (trouble: AgentTrouble, backoff: { minMs: number, maxMs: number }): number {
  const strikes = trouble.errors > 0 ? trouble.errors : Math.max(0, trouble.empty - EMPTY_BEFORE_PAUSE + 1)
  return strikes === 0 ? 0 : Math.min(backoff.minMs * 2 ** (strikes - 1), backoff.maxMs)
}

/**
 * Whether a new best ends the pause early. An agent that had nothing to propose was asked on
 * one best, and a new one is new ground (other edits, other history), so waiting out the
 * timer would only delay the search; an agent that failed (an endpoint down, a CLI agent that
 * crashes) fails the same way on any best, so its pause runs its course.
 */
export function newBestEndsPause (trouble: AgentTrouble): boolean {
  return trouble.errors === 0 && trouble.empty > 0
}
