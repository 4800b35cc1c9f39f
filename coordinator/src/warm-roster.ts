/**
 * Which verifiers are told the current best's seed pool, to warm its baselines while idle
 * (handlers/lease.ts). A warm-up pays only for a verifier that then gets a job on that best;
 * with every idle verifier warming, 250 verifiers ran the same 3 baselines for every new best
 * and most never used them (the simulation: 10,969 of 13,347 verifier runs at 1,000
 * volunteers). So the roster keeps a few idle warm verifiers in reserve (`warmReserve`), and
 * the coordinator wakes warm verifiers first (handlers/lease-holds.ts).
 */
export class WarmRoster {
  #best: string | undefined
  /** Keys told this best's pool. */
  readonly #told = new Set<string>()
  /** Keys that got a job on this best (they ran its baselines, or will, in the job). */
  readonly #served = new Set<string>()
  /** Candidates with a job on this best. */
  readonly #candidates = new Set<number>()

  /** Whether `key` may be told `best`'s pool now; once told, it stays told for that best. */
  mayWarm (best: string, key: string, rounds: { quorum: number, split: boolean }): boolean {
    this.#on(best)
    if (this.#told.has(key) || this.#served.has(key)) return true
    if (this.idle() >= warmReserve(rounds.quorum, rounds.split, this.#candidates.size)) return false
    this.#told.add(key)
    return true
  }

  /** A job on `best` for candidate `candidateSeq` went to `key`. */
  served (best: string, key: string, candidateSeq: number): void {
    this.#on(best)
    this.#served.add(key)
    this.#candidates.add(candidateSeq)
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
    this.#candidates.clear()
  }
}

/**
 * Idle warm verifiers to keep, beyond those that had a job on the best (they stay warm for it
 * and are woken first), for a best that has had `candidates` candidates leased. A quiet best
 * keeps a quorum. With whole rounds a busy best keeps one per candidate: each job uses every
 * seed a verifier warmed. With split rounds (`split`, rules/parts.ts) a job is a pair or two
 * and the verifiers that took a best's parts, several per candidate, already are its warm
 * reserve: more cold ones warmed baselines they never used (the simulation at 1,000 volunteers,
 * 12 h: 11,490 warm-up runs and a verifier share of 12.1 % with one per candidate, 6,018 and
 * 9.5 % with a quorum, merges as many). Candidates, not jobs: a split round's parts are one.
 */
export function warmReserve (quorum: number, split: boolean, candidates: number): number {
  return split ? quorum : Math.max(quorum, candidates)
}
