/**
 * Which verifiers are told the current best's seed pool, to warm its baselines while idle
 * (handlers/lease.ts). A warm-up pays only for a verifier that then gets a job on that best;
 * with every idle verifier warming, 250 verifiers ran the same 3 baselines for every new best
 * and most never used them (the simulation: 10,969 of 13,347 verifier runs at 1,000
 * volunteers). So the roster keeps as many idle warm verifiers in reserve as the best has
 * had jobs (at least `quorum`): a quiet best has one or two, a busy one more, and the
 * coordinator wakes warm verifiers first (handlers/lease-holds.ts).
 */
export class WarmRoster {
  #best: string | undefined
  /** Keys told this best's pool. */
  readonly #told = new Set<string>()
  /** Keys that got a job on this best (they ran its baselines, or will, in the job). */
  readonly #served = new Set<string>()
  #jobs = 0

  /** Whether `key` may be told `best`'s pool now; once told, it stays told for that best. */
  mayWarm (best: string, key: string, quorum: number): boolean {
    this.#on(best)
    if (this.#told.has(key) || this.#served.has(key)) return true
    if (this.idle() >= Math.max(quorum, this.#jobs)) return false
    this.#told.add(key)
    return true
  }

  /** A job on `best` went to `key`. */
  served (best: string, key: string): void {
    this.#on(best)
    this.#served.add(key)
    this.#jobs++
  }

  /** Keys told the pool that have had no job on this best yet: the warm reserve. */
  idle (): number {
    let n = 0
    for (const key of this.#told) if (!this.#served.has(key)) n++
    return n
  }

  #on (best: string): void {
    if (best === this.#best) return
    this.#best = best
    this.#told.clear()
    this.#served.clear()
    this.#jobs = 0
  }
}
