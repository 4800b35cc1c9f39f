import { clearLine, cursorTo } from 'node:readline'
import { describeMeasuring } from './events.ts'
import type { WorkerEvent } from './worker.ts'

const fmt = (x: number | null | undefined): string => (x === null || x === undefined ? 'n/a' : x.toPrecision(5))
const clock = (ms: number): string => { const s = Math.floor(ms / 1000); return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}` }

/**
 * The worker's one-line status on a terminal, redrawn in place under the event log:
 * experiment, phase, time in phase, local best, network best, submissions and verdicts.
 */
export class StatusLine {
  readonly #out: NodeJS.WriteStream
  #n = 0
  #phase = 'starting'
  #since = Date.now()
  #local: number | null = null
  #network: number | null = null
  #networkSeq = 0
  readonly #verdicts = { submitted: 0, merged: 0, rejected: 0, other: 0 }
  readonly #timer: NodeJS.Timeout

  constructor (out: NodeJS.WriteStream) {
    this.#out = out
    this.#timer = setInterval(() => { this.#draw() }, 1000)
    this.#timer.unref()
  }

  update (e: WorkerEvent): void {
    switch (e.type) {
      case 'phase': this.#n = e.n; this.#phase = e.phase; this.#since = Date.now(); break
      case 'measuring': this.#phase = describeMeasuring(e); this.#since = Date.now(); break
      case 'best': this.#local = e.localMetric; this.#network = e.networkMetric; break
      case 'announcement': this.#network = e.body.best.metric; this.#networkSeq = e.body.best.seq; break
      case 'experiment': this.#local = e.localBest; this.#phase = 'idle'; break
      case 'waiting': this.#phase = 'waiting for a new best'; this.#since = Date.now(); break
      case 'agent-backoff': this.#phase = 'waiting for the agent'; this.#since = Date.now(); break
      case 'submitted': this.#verdicts.submitted++; break
      case 'verdict':
        if (e.status.state === 'merged') this.#verdicts.merged++
        else if (e.status.state === 'rejected') this.#verdicts.rejected++
        else if (e.status.state !== 'rebased') this.#verdicts.other++
        break
      default: break
    }
    this.#draw()
  }

  /** Prints a log line above the status line. */
  log (line: string): void {
    this.#clear()
    this.#out.write(`${line}\n`)
    this.#draw()
  }

  #clear (): void {
    clearLine(this.#out, 0)
    cursorTo(this.#out, 0)
  }

  #draw (): void {
    const v = this.#verdicts
    const pending = v.submitted - v.merged - v.rejected - v.other
    const text = `exp ${this.#n} ${this.#phase} ${clock(Date.now() - this.#since)} | local best ${fmt(this.#local)} | network ${fmt(this.#network)} (merge ${this.#networkSeq}) | submitted ${v.submitted}: ${v.merged} merged, ${v.rejected} rejected, ${Math.max(0, pending)} pending`
    this.#clear()
    this.#out.write(text.slice(0, Math.max(20, (this.#out.columns ?? 120) - 1)))
  }

  stop (): void {
    clearInterval(this.#timer)
    this.#clear()
  }
}
