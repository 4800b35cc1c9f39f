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

  /** Whether `alreadyWarm` was read for this best. */
  #read = false

  /**
   * Whether `key` may be told `best`'s pool now; once told, it stays told for that best.
   * `alreadyWarm`, read once per best, names keys whose caches hold its baselines without a
   * warm-up (seeds.ts `warmByReuse`): they count as told.
   */
  mayWarm (best: string, key: string, rounds: { quorum: number, split: boolean, ahead?: boolean }, alreadyWarm?: () => Iterable<string>): boolean {
    this.#on(best)
    if (!this.#read && alreadyWarm !== undefined) {
      this.#read = true
      for (const warm of alreadyWarm()) this.#told.add(warm)
    }
    if (this.#told.has(key) || this.#served.has(key)) return true
    if (this.idle() >= warmReserve(rounds.quorum, rounds.split, this.#candidates.size, rounds.ahead)) return false
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
    this.#read = false
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
 * With whole rounds where speculation is open (`ahead`: a window above 0, speculate.ts), the
 * first candidate leased on a best heads the chain: those that fit onto it are carried there and
 * measured against it, not the best, so it keeps no idle verifier warm on the best; each further
 * candidate leased on the best (one that did not fit, or past the window) is verified there, and
 * keeps one as before. With one warm per candidate, two one-slot verifiers' idle one warmed
 * nearly every new best, about a run and a half a merge, and the chain's holder took the work
 * (docs/benchmarks.md, "A job waits for the verifier that holds its baselines").
 */
export function warmReserve (quorum: number, split: boolean, candidates: number, ahead = false): number {
  if (split || candidates === 0) return quorum
  return ahead ? candidates - 1 : Math.max(quorum, candidates)
}
