/**
 * One timer, at the end of the first lease that may run out (handlers/lease.ts sets it for each
 * job it hands out). When a lease runs out its job goes back to the queue, and the coordinator
 * wakes as many held lease requests as may take it (lease-holds.ts `verifiersToWake`). Before,
 * every held request set its own wait to end with the first lease: they all woke at once, up
 * to 128 turns of the serial queue for one job. The same timer is set for the end of a pass's
 * wait for a larger merge group (rules/hold.ts), after which the coordinator takes a carry turn
 * that may merge it, whether or not a verifier asks for work.
 */
export class LeaseExpiry {
  readonly #ranOut: () => void
  #timer: NodeJS.Timeout | undefined
  #at = Infinity
  #closed = false

  /** `ranOut` is called (once per timer) just after the watched end passes. */
  constructor (ranOut: () => void) {
    this.#ranOut = ranOut
  }

  /** When the timer fires next (Infinity: it is not set). */
  get due (): number { return this.#at }

  /** A lease ends at `at` (Infinity: none does): the timer is set for it, unless it is set for an earlier end already. */
  watch (at: number): void {
    if (this.#closed || at >= this.#at) return
    clearTimeout(this.#timer)
    this.#at = at
    // A lease has run out once `now` is past its end (store.expireLeases); setTimeout's longest delay is 2^31-1 ms, a timer that fires early finds nothing and is set again.
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#at = Infinity
      this.#ranOut()
    }, Math.min(Math.max(0, at + 1 - Date.now()), 2 ** 31 - 1))
    // Never what keeps a process alive: the coordinator's node does that while it serves.
    this.#timer.unref()
  }

  /** On shutdown: the timer is cleared and never set again. */
  close (): void {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#at = Infinity
  }
}
