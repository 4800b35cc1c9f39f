import type { Holders } from '../verification.ts'

/** Verifiers whose last look is kept: more than any cause's allowlist; in open mode only keys that count are recorded (handlers/lease.ts). */
export const MAX_LOOKS = 1024

/**
 * Lease requests held back for the verifier that holds their work's baselines (rules/holder.ts):
 * when each verifier last asked for work, and whether a request was held back since, so that
 * held requests look again once the holder has taken a job (the work it left may be theirs) or
 * the holder's grace runs out (`due`, from the lease timer: handlers/lease-expiry.ts).
 */
export class HolderWaits implements Holders {
  readonly #looks = new Map<string, number>()
  readonly #wake: () => void
  readonly #watch: (at: number) => void
  #waiting = false
  #until = Infinity

  /** `wake` makes the held requests look again; `watch` sets the lease timer for a time the holds end (it then calls `due`). */
  constructor (wake: () => void, watch: (at: number) => void) {
    this.#wake = wake
    this.#watch = watch
  }

  /** A verifier asked for work at `at`. */
  looked (verifier: string, at: number): void {
    this.#looks.delete(verifier)
    this.#looks.set(verifier, at)
    // Oldest first, in the order of their last look.
    if (this.#looks.size > MAX_LOOKS) this.#looks.delete(this.#looks.keys().next().value as string)
  }

  readonly lookedAt = (verifier: string): number | undefined => this.#looks.get(verifier)

  readonly heldBack = (until: number): void => {
    this.#waiting = true
    if (until >= this.#until) return
    this.#until = until
    if (until < Infinity) this.#watch(until)
  }

  /** A job was leased: requests held back look again. */
  leased (): void {
    if (!this.#waiting) return
    this.#end()
  }

  /** The lease timer fired at `now`: holds whose grace ended look again. Returns when the next one ends (Infinity: none). */
  due (now: number): number {
    if (this.#until > now) return this.#until
    if (this.#waiting) this.#end()
    return Infinity
  }

  #end (): void {
    this.#waiting = false
    this.#until = Infinity
    this.#wake()
  }
}
