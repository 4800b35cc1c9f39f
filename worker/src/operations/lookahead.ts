import { logger } from '@libp2p/logger'
import type { Proposed } from './propose.ts'

const log = logger('autoresearch:worker:lookahead')

/** Where a proposal was made: the best and the local best it edits. */
export interface ProposedOn { base: string, local: string }

/** Whether a proposal made ahead still applies: the agent edited the very files the next experiment starts from. */
export const stillApplies = (made: ProposedOn, now: ProposedOn): boolean => made.base === now.base && made.local === now.local

/**
 * An experiment ready to run: the agent's proposal, vetted (operations/vet.ts: not a repeat,
 * and claimed when `claimed`), and its commit on the local best written.
 */
export interface Prepared { proposal: Proposed, claimed: boolean, commit: string }

/** Makes the next experiment ready; undefined when there is none to run (the agent had none, or every turn was a repeat). */
export type Prepare = (signal: AbortSignal) => Promise<Prepared | undefined>

type Settled = { ok: true, prepared: Prepared | undefined } | { ok: false, error: unknown }
interface Next { on: ProposedOn, settled: Promise<Settled>, abort: AbortController, release: (prepared: Prepared) => Promise<void> }

/**
 * The next experiment, made ready while the current one (and its confirmation) runs: the
 * agent's proposal, its claim and its commit. A slow agent (a hosted model, a CLI agent) no
 * longer leaves the machine idle between runs, nor does the claim's round trip to the
 * coordinator or the commit. The proposal is made without the result of the run in flight,
 * and is used only when that run changed nothing: a keep or a new best moves the files it
 * edits, and it is dropped and its claim given back (most runs are discards, so most
 * experiments made ahead are used), and made again at once on the new files by the caller.
 * One at a time: starting the next stops the agent of one still being made.
 */
export class Lookahead {
  #next?: Next
  /** Dropped experiments being stopped and their claims given back: the loop does not wait for them, its end does. */
  readonly #releases = new Set<Promise<void>>()

  /**
   * Starts making the next experiment, on `on`; one being made already is dropped (its claim
   * given back). `release` gives back the claim of one that is dropped; it must not throw.
   */
  start (on: ProposedOn, prepare: Prepare, release: (prepared: Prepared) => Promise<void>, options: { signal?: AbortSignal } = {}): void {
    const before = this.#next
    if (before !== undefined) this.#track(this.#drop(before))
    const abort = new AbortController()
    const signal = options.signal === undefined ? abort.signal : AbortSignal.any([options.signal, abort.signal])
    // Settled at once into a value: a failure is the step's to throw when it takes it, not an unhandled rejection before then.
    const settled = prepare(signal).then((prepared): Settled => ({ ok: true, prepared }), (error: unknown): Settled => ({ ok: false, error }))
    this.#next = { on, settled, abort, release }
  }

  /**
   * The experiment made ahead for `now`, if one was and it still applies (undefined within
   * it: there was none to run); `{ stale }` when there is none to use. A failure to make it
   * (the agent's are events, not failures) is thrown here.
   */
  async take (now: ProposedOn): Promise<{ prepared: Prepared | undefined } | { stale: boolean }> {
    const next = this.#next
    this.#next = undefined
    if (next === undefined) return { stale: false }
    if (!stillApplies(next.on, now)) {
      await this.#drop(next)
      log('dropped an experiment made on %s: the local best is %s now', next.on.local, now.local)
      return { stale: true }
    }
    const settled = await next.settled
    if (!settled.ok) throw settled.error
    return { prepared: settled.prepared }
  }

  /** Stops an experiment still being made (the loop is ending), gives its claim back and waits for every claim given back. */
  async cancel (): Promise<void> {
    const next = this.#next
    this.#next = undefined
    if (next !== undefined) await this.#drop(next)
    await Promise.all([...this.#releases])
  }

  async #drop (next: Next): Promise<void> {
    next.abort.abort()
    const settled = await next.settled
    // Stopped half-way, or failed: nothing was claimed that a later step would not claim again.
    if (!settled.ok) { log('an experiment made ahead failed: %e', settled.error); return }
    if (settled.prepared?.claimed === true) this.#track(next.release(settled.prepared))
  }

  /** Work the loop does not wait for, which its end does. */
  #track (work: Promise<void>): void {
    const tracked = work.finally(() => this.#releases.delete(tracked))
    this.#releases.add(tracked)
  }
}
