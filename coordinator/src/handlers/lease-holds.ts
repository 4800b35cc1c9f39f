import { QuotaExceededError } from '@autoresearch/protocol'
import type { CoordinatorEvent } from '../events.ts'

/**
 * The longest a lease request is held open. A client waits READ_TIMEOUT_MS (30 s) beyond
 * the wait it asked for; the cap keeps a held request well inside any stream limit and
 * lets a verifier notice a coordinator that went away.
 */
export const MAX_HOLD_MS = 20_000

/** Held lease requests at once: per peer (a verifier with a few slots needs one) and in all. */
export const HOLD_LIMITS = { perPeer: 4, total: 128 }

/** One held request's place in the counts: `served` when it takes a job, `release` when it answers (each once). */
export interface Hold {
  served: () => void
  release: () => void
}

/** A lease that ran out (lease-expiry.ts): not an event the coordinator reports, but one that wakes verifiers. */
export interface LeaseRanOut { type: 'lease-ran-out' }

/**
 * How many held lease requests an event wakes: a receipt, a rebase, a merge group or batch
 * formed (one candidate for all its members), a verdict (another
 * round, a lease returned) or a lease that ran out makes at most one candidate leasable, which
 * `quorum` verifiers take; a new best changes every waiting verifier's work (its warm seeds,
 * the candidates carried onto it), so it wakes them all. Waking every held request on every
 * event made each event cost one turn of the serial queue per idle verifier.
 */
export function verifiersToWake (e: Pick<CoordinatorEvent, 'type'> | LeaseRanOut, quorum: number): number {
  if (e.type === 'merged' || e.type === 'best-changed') return Infinity
  return e.type === 'receipt' || e.type === 'rebased' || e.type === 'grouped' || e.type === 'verdict' || e.type === 'lease-ran-out' ? quorum : 0
}

/**
 * Lease requests waiting for work. `generation` moves on every wake, so a request that
 * found no job at generation g and then waits returns at once if work came in between.
 * A wake picks the requests that have waited longest (warm ones first); one that then finds
 * work it may not take (its own candidate), or takes part of a split round, passes the wake
 * on (`relay`) to a request that has not looked since, so work is never left waiting for
 * the hold to run out.
 */
export class LeaseHolds {
  readonly #limits: typeof HOLD_LIMITS
  readonly #perPeer = new Map<string, number>()
  /** Each waiting request's wake-up, with the generation it last looked at, whether it warmed the best and whose it is; in the order they began to wait. */
  readonly #waiters = new Map<() => void, { since: number, warm: boolean, verifier?: string }>()
  #held = 0
  /** Held requests that took a job and are answering. */
  #served = 0
  #generation = 0
  #closed = false

  constructor (limits = HOLD_LIMITS) {
    this.#limits = limits
  }

  get generation (): number { return this.#generation }
  get closed (): boolean { return this.#closed }
  get held (): number { return this.#held }
  /** Requests waiting now (held ones between their looks). */
  get waiting (): number { return this.#waiters.size }
  /**
   * Held requests still without a job: those waiting and those woken that have not looked
   * yet. A new best wakes every one at once, so `waiting` is then 0 while each looks in turn;
   * these are the verifiers a split round can be shared with (rules/parts.ts).
   */
  get idle (): number { return this.#held - this.#served }

  /** Counts a held request against the caps. */
  enter (peer: string): Hold {
    const mine = this.#perPeer.get(peer) ?? 0
    if (mine >= this.#limits.perPeer) throw new QuotaExceededError(`this peer already has ${mine} lease requests held open (at most ${this.#limits.perPeer})`)
    if (this.#held >= this.#limits.total) throw new QuotaExceededError(`the coordinator holds ${this.#held} lease requests open (at most ${this.#limits.total}); ask again without waitMs`)
    this.#perPeer.set(peer, mine + 1)
    this.#held++
    let released = false
    let served = false
    return {
      served: () => {
        if (served || released) return
        served = true
        this.#served++
      },
      release: () => {
        if (released) return
        released = true
        this.#held--
        if (served) this.#served--
        const left = (this.#perPeer.get(peer) ?? 1) - 1
        if (left === 0) this.#perPeer.delete(peer)
        else this.#perPeer.set(peer, left)
      }
    }
  }

  /**
   * Resolves when woken (at once if a wake came after `since`), after `ms`, on abort, or on
   * close. A request from a verifier that warmed the current best's baselines (`warm`) is
   * woken before the others: its job then costs only the candidate's runs (warm-roster.ts).
   */
  async wait (ms: number, since: number, options: { signal?: AbortSignal, warm?: boolean, verifier?: string } = {}): Promise<void> {
    if (this.#closed || since !== this.#generation || ms <= 0 || options.signal?.aborted === true) return
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        options.signal?.removeEventListener('abort', done)
        this.#waiters.delete(done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      options.signal?.addEventListener('abort', done, { once: true })
      this.#waiters.set(done, { since, warm: options.warm === true, ...(options.verifier === undefined ? {} : { verifier: options.verifier }) })
    })
  }

  /** Something changed: `n` requests look again (all by default), warm ones first, then those that have waited longest. */
  wake (n = Infinity): void {
    this.#generation++
    for (const done of this.#inOrder().slice(0, n)) done()
  }

  /**
   * These verifiers' requests look again, no other (holder-waits.ts). The generation moves on, so
   * one of theirs between its look and its wait looks again at once (others that do so find the
   * same work and wait again).
   */
  wakeVerifiers (verifiers: readonly string[]): void {
    if (verifiers.length === 0) return
    this.#generation++
    const keys = new Set(verifiers)
    for (const [done, w] of [...this.#waiters]) if (w.verifier !== undefined && keys.has(w.verifier)) done()
  }

  /** Passes a wake on: the first request (in wake order) that has not looked since the last change looks now. Returns whether there was one. */
  relay (): boolean {
    const next = this.#inOrder().find((done) => this.#waiters.get(done)?.since !== this.#generation)
    next?.()
    return next !== undefined
  }

  #inOrder (): Array<() => void> {
    const all = [...this.#waiters]
    return [...all.filter(([, w]) => w.warm), ...all.filter(([, w]) => !w.warm)].map(([done]) => done)
  }

  /** On shutdown: every held request answers now, and none waits again. */
  close (): void {
    this.#closed = true
    this.wake()
  }
}
