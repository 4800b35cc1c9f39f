/** Proposals in a row that were empty before the loop pauses (an agent that draws at random proposes nothing by chance). */
export const EMPTY_BEFORE_PAUSE = 3

/** How the agent has fared since its last proposal that was run: failed proposals and empty ones, in a row. */
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
