/**
 * When the demo network has gone quiet: the toy cause holds a few merges before its noise
 * floor, after which the search agents find nothing more to try on the best and no experiment
 * runs. A pure decision, so the demo says so once per quiet spell instead of leaving a
 * first-time user to wonder whether it hangs.
 */

/** How long without an experiment, a submission or a verification before the demo says the network is quiet. */
export const QUIET_NOTICE_MS = 30_000

export class Quiet {
  #lastAt: number
  #told = false

  constructor (now: number, readonly afterMs = QUIET_NOTICE_MS) { this.#lastAt = now }

  /** Something ran (an experiment reported, a candidate received, a job leased or decided): a later quiet spell is told again. */
  active (now: number): void {
    this.#lastAt = now
    this.#told = false
  }

  /** Milliseconds since the last activity. */
  for (now: number): number { return now - this.#lastAt }

  /** True once per quiet spell, when it has lasted `afterMs`. */
  due (now: number): boolean {
    if (this.#told || now - this.#lastAt < this.afterMs) return false
    this.#told = true
    return true
  }
}

/** What the demo tells the user when the network has been quiet (its status at that moment). */
export function quietNotice (quietMs: number, status: { merges: number, metric: string, best: number | null }, agent: string): string {
  const best = status.best === null ? '' : ` (${status.metric} ${Number(status.best.toPrecision(4))})`
  // The search agent runs dry at the toy cause's noise floor; another agent may be failing, which its workers' lines say.
  const why = agent === 'search'
    ? 'the search agents find nothing more to try on this best (the toy cause holds a few merges before its noise floor)'
    : `the workers' ${agent} agents propose nothing that runs (their lines above say why)`
  return `no experiment, submission or verification for ${Math.round(quietMs / 1000)} s after ${status.merges} merge(s)${best}: ${why}. ` +
    'The network is not stuck: it stays up, and a new best or a program update would set it going again; stop it with Ctrl-C.'
}
