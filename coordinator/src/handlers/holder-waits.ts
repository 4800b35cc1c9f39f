import type { HolderWait } from '../rules/holder.ts'
import type { Holders } from '../verification.ts'

/** Verifiers whose last look is kept: more than any cause's allowlist; in open mode only keys that count are recorded (handlers/lease.ts). */
export const MAX_LOOKS = 1024

/**
 * Lease requests held back for the verifier that holds their work's baselines (rules/holder.ts):
 * when each verifier last asked for work, and who was held back since, so that held requests
 * look again once a holder they wait for has looked (it has taken a job, or found none it may
 * take: what it left may be theirs) or when the holder's grace runs out (`due`, from the lease
 * timer: handlers/lease-expiry.ts). No other look wakes them (one by a verifier that is not a
 * holder frees nothing), and a wake goes to the requests held back, not to every one waiting:
 * with hundreds of verifiers a wake of all at each holder's look was a look by each.
 */
export class HolderWaits implements Holders {
  readonly #looks = new Map<string, number>()
  readonly #wake: (verifiers: string[]) => void
  readonly #watch: (at: number) => void
  /** Verifiers held back since the last wake. */
  readonly #held = new Set<string>()
  /** The holders whose next look ends a hold since the last wake (rules/holder.ts `HolderWait.awaits`). */
  readonly #awaited = new Set<string>()
  #until = Infinity

  /** `wake` makes these verifiers' held requests look again; `watch` sets the lease timer for a time the holds end (it then calls `due`). */
  constructor (wake: (verifiers: string[]) => void, watch: (at: number) => void) {
    this.#wake = wake
    this.#watch = watch
  }

  /** A verifier asked for work at `at`. Returns whether a hold on others waits for its look: call `lookAgain` once it has taken its job or none. */
  looked (verifier: string, at: number): boolean {
    this.#looks.delete(verifier)
    this.#looks.set(verifier, at)
    // Oldest first, in the order of their last look.
    if (this.#looks.size > MAX_LOOKS) this.#looks.delete(this.#looks.keys().next().value as string)
    return this.#awaited.has(verifier)
  }

  readonly lookedAt = (verifier: string): number | undefined => this.#looks.get(verifier)

  readonly heldBack = ({ until, awaits }: HolderWait, verifier: string): void => {
    this.#held.add(verifier)
    // Both sets hold keys that count (the rule reads only those): bounded by the looks kept.
    if (this.#held.size > MAX_LOOKS) this.#held.delete(this.#held.keys().next().value as string)
    for (const holder of awaits) if (this.#awaited.size < MAX_LOOKS) this.#awaited.add(holder)
    if (until >= this.#until) return
    this.#until = until
    if (until < Infinity) this.#watch(until)
  }

  /** Requests held back look again (a holder they wait for looked since they were held). */
  lookAgain (): void {
    if (this.#held.size === 0) return
    this.#end()
  }

  /** The lease timer fired at `now`: holds whose grace ended look again. Returns when the next one ends (Infinity: none). */
  due (now: number): number {
    if (this.#until > now) return this.#until
    if (this.#held.size > 0) this.#end()
    return Infinity
  }

  #end (): void {
    const held = [...this.#held]
    this.#held.clear()
    this.#awaited.clear()
    this.#until = Infinity
    this.#wake(held)
  }
}
