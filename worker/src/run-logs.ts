import * as fs from 'node:fs'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import type { TrialResult } from '@autoresearch/runner'

const log = logger('autoresearch:worker:run-logs')

/** How many runs' logs are kept: each run's scratch directory goes with it, and a crash's reason must stay readable. */
export const KEPT_RUN_LOGS = 20
/** A kept log's size at most; beyond it the middle is left out (a crash's reason is at the end, the set-up at the start). */
export const MAX_RUN_LOG_BYTES = 256 * 1024
const HEAD_BYTES = 32 * 1024
/** A crash's reason in results.tsv: one line, short enough to leave the description readable. */
const MAX_REASON_CHARS = 160

/**
 * Why a run failed, in one line: the runner's message (which step, how it ended) and the
 * last line the step printed before it (a Python traceback's last line names the error).
 */
export function crashReason (result: Extract<TrialResult, { ok: false }>): string {
  const output = result.logTail.split('=== runner ===')[0] ?? ''
  const last = output.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^=== \w+ ===$/.test(l)).at(-1)
  const reason = last === undefined || result.message.includes(last) ? result.message : `${result.message}: ${last}`
  return reason.replace(/\s+/g, ' ').trim().slice(0, MAX_REASON_CHARS)
}

/** One run's output as it streams, the head and the tail kept within MAX_RUN_LOG_BYTES. */
export class RunLog {
  readonly path: string
  readonly #head: string[] = []
  #headBytes = 0
  readonly #tail: string[] = []
  #tailBytes = 0
  #dropped = 0
  #phase = ''

  constructor (path: string, title: string) {
    this.path = path
    this.#add(`${title}\n`)
  }

  line (phase: string, text: string): void {
    if (phase !== this.#phase) {
      this.#phase = phase
      this.#add(`=== ${phase} ===\n`)
    }
    this.#add(`${text}\n`)
  }

  #add (text: string): void {
    const bytes = Buffer.byteLength(text)
    if (this.#headBytes + bytes <= HEAD_BYTES && this.#tail.length === 0) {
      this.#head.push(text)
      this.#headBytes += bytes
      return
    }
    this.#tail.push(text)
    this.#tailBytes += bytes
    while (this.#tailBytes > MAX_RUN_LOG_BYTES - HEAD_BYTES && this.#tail.length > 1) {
      const gone = this.#tail.shift() as string
      this.#tailBytes -= Buffer.byteLength(gone)
      this.#dropped += Buffer.byteLength(gone)
    }
  }

  /** Writes the log with the run's outcome; never throws (a log that cannot be written must not fail the run). */
  finish (result: TrialResult): void {
    const outcome = result.ok ? `=== result ===\nmetric ${result.metric}\n` : `=== result ===\n${result.reason}: ${result.message}\n`
    const gap = this.#dropped === 0 ? [] : [`[… ${this.#dropped} bytes left out …]\n`]
    try {
      fs.writeFileSync(this.path, [...this.#head, ...gap, ...this.#tail, outcome].join(''))
    } catch (err) {
      log.error('run log %s not written: %e', this.path, err)
    }
  }
}

/** The last KEPT_RUN_LOGS runs' logs in one directory of the worker's state, numbered in order. */
export class RunLogs {
  readonly dir: string
  #next: number

  constructor (dir: string) {
    this.dir = dir
    fs.mkdirSync(dir, { recursive: true })
    this.#next = Math.max(0, ...this.#files().map((f) => Number.parseInt(f, 10))) + 1
  }

  #files (): string[] {
    return fs.readdirSync(this.dir).filter((f) => /^\d+-.*\.log$/.test(f)).sort()
  }

  /** A new log for a run of `commit` on `seed`; the oldest logs beyond KEPT_RUN_LOGS go. */
  start (commit: string, seed: number): RunLog {
    const name = `${String(this.#next++).padStart(6, '0')}-${commit.slice(0, 7)}-seed${seed}.log`
    for (const old of this.#files().slice(0, -(KEPT_RUN_LOGS - 1))) fs.rmSync(join(this.dir, old), { force: true })
    return new RunLog(join(this.dir, name), `commit ${commit} seed ${seed} at ${new Date().toISOString()}`)
  }
}
