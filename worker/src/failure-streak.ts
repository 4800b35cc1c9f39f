/**
 * A failure said once per streak: the first failure after a success (or since the start) is
 * news to the volunteer, its repeats are not. Used where a side channel of the loop (the
 * network's history, claims) may fail on every step without stopping it.
 */
export class FailureStreak {
  #failing = false

  /** Records a failure; true when it starts a streak (say it). */
  failed (): boolean {
    const first = !this.#failing
    this.#failing = true
    return first
  }

  /** Records a success: the next failure starts a new streak. */
  succeeded (): void {
    this.#failing = false
  }
}
