/**
 * The simulation's time: a virtual clock and an event queue (a binary heap by time, ties
 * in insertion order). Nothing sleeps; the clock jumps to the next event.
 */
import { normalDraw, prng } from '@autoresearch/protocol'

export class EventQueue {
  #now: number
  #order = 0
  readonly #heap: Array<{ at: number, order: number, fn: () => void }> = []

  constructor (start: number) {
    this.#now = start
  }

  get now (): number { return this.#now }
  get size (): number { return this.#heap.length }

  /** Runs `fn` `delayMs` from now (virtual milliseconds). */
  after (delayMs: number, fn: () => void): void {
    this.#push({ at: this.#now + Math.max(0, delayMs), order: this.#order++, fn })
  }

  /** Runs events in time order until `until`, `maxEvents` or (checked every 64 events) `stop()`; returns how many ran and whether it stopped early. */
  run (until: number, maxEvents: number, stop: () => boolean = () => false): { ran: number, early: boolean } {
    let ran = 0
    while (this.#heap.length > 0 && ran < maxEvents) {
      if (ran % 64 === 0 && stop()) return { ran, early: true }
      const next = this.#heap[0] as { at: number }
      if (next.at > until) break
      const event = this.#pop()
      this.#now = event.at
      event.fn()
      ran++
    }
    if (ran < maxEvents) this.#now = Math.max(this.#now, until)
    return { ran, early: ran >= maxEvents }
  }

  #earlier (i: number, j: number): boolean {
    const a = this.#heap[i] as { at: number, order: number }
    const b = this.#heap[j] as { at: number, order: number }
    return a.at < b.at || (a.at === b.at && a.order < b.order)
  }

  #swap (i: number, j: number): void {
    const h = this.#heap
    ;[h[i], h[j]] = [h[j] as typeof h[number], h[i] as typeof h[number]]
  }

  #push (event: { at: number, order: number, fn: () => void }): void {
    this.#heap.push(event)
    for (let i = this.#heap.length - 1; i > 0;) {
      const parent = (i - 1) >> 1
      if (!this.#earlier(i, parent)) break
      this.#swap(i, parent)
      i = parent
    }
  }

  #pop (): { at: number, order: number, fn: () => void } {
    const top = this.#heap[0] as { at: number, order: number, fn: () => void }
    const last = this.#heap.pop() as typeof top
    if (this.#heap.length > 0) {
      this.#heap[0] = last
      for (let i = 0; ;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < this.#heap.length && this.#earlier(l, m)) m = l
        if (r < this.#heap.length && this.#earlier(r, m)) m = r
        if (m === i) break
        this.#swap(i, m)
        i = m
      }
    }
    return top
  }
}

/**
 * Runs `fn` with the process clock (`Date.now`) replaced by the queue's virtual clock:
 * the coordinator's real code reads Date.now() for leases, receipts and freshness checks,
 * and must see simulated time. The real clock is restored in `finally`, whatever happens.
 */
export function withVirtualClock<T> (queue: EventQueue, fn: () => T): T {
  const real = Date.now
  Date.now = () => Math.floor(queue.now)
  try {
    return fn()
  } finally {
    Date.now = real
  }
}

/** A seeded PRNG (protocol's mulberry32) with the draws the model needs. */
export class Random {
  readonly next: () => number

  constructor (seed: number) {
    this.next = prng(seed)
  }

  /** Exponential with the given mean. */
  exponential (mean: number): number {
    return -mean * Math.log(1 - this.next())
  }

  /** Normal (Box–Muller) with mean 0 and standard deviation `sd`. */
  gaussian (sd: number): number {
    return sd * normalDraw(this.next)
  }
}
