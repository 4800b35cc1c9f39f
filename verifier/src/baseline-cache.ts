import * as fs from 'node:fs'
import { dirname } from 'node:path'
import { logger } from '@libp2p/logger'
import type { TrialResult } from '@autoresearch/runner'

const log = logger('autoresearch:verifier:baseline-cache')

/** Baseline results kept per (best commit, seed), in memory and on disk. */
const MAX_CACHED = 5000

/**
 * Baseline results per (best commit, seed), kept across restarts: a warm cache makes a
 * trial cost about one run. Runs still under way are shared too, so a job's baseline
 * waits for a warm-up of the same seed instead of running it twice.
 */
export class BaselineCache {
  readonly #path: string
  readonly #max: number
  readonly #results = new Map<string, TrialResult>()
  readonly #running = new Map<string, Promise<TrialResult>>()

  /** `max`: results kept, in memory and on disk, the oldest forgotten first (default 5,000). */
  constructor (path: string, opts: { max?: number } = {}) {
    this.#path = path
    this.#max = opts.max ?? MAX_CACHED
    try {
      const entries = JSON.parse(fs.readFileSync(path, 'utf8')) as Array<[string, TrialResult]>
      for (const [key, result] of entries.slice(-this.#max)) if (result.ok) this.#results.set(key, result)
    } catch (err) {
      // No cache yet, or an unreadable one: start cold.
      log('no baseline cache read from %s: %e', path, err)
    }
  }

  static key (commit: string, seed: number): string { return `${commit}:${seed}` }

  has (key: string): boolean { return this.#results.has(key) || this.#running.has(key) }

  /** The stored result, else the run under way, else undefined. */
  async get (key: string): Promise<TrialResult | undefined> {
    return this.#results.get(key) ?? await this.#running.get(key)
  }

  /** Runs `run` as the one run of `key`; a successful result is kept. */
  async run (key: string, run: () => Promise<TrialResult>): Promise<TrialResult> {
    const running = run()
    this.#running.set(key, running)
    try {
      const result = await running
      if (result.ok) {
        this.#remember(key, result)
        this.#save()
      }
      return result
    } finally {
      this.#running.delete(key)
    }
  }

  /** Keeps a result measured elsewhere (a candidate's run, once that commit may be a best); a failed run is not kept. */
  keep (key: string, result: TrialResult): void {
    if (!result.ok || this.#results.has(key)) return
    this.#remember(key, result)
    this.#save()
  }

  /** Adds a result, forgetting the oldest beyond `max`: memory stays as bounded as the file. */
  #remember (key: string, result: TrialResult): void {
    this.#results.set(key, result)
    for (const oldest of this.#results.keys()) {
      if (this.#results.size <= this.#max) break
      this.#results.delete(oldest)
    }
  }

  /**
   * Writes the file whole (temporary file, then rename). A cache is only an optimisation: a
   * write that fails (a full disk) is logged, the result stays in memory, and the trial that
   * measured it is not failed; the next write tries again.
   */
  #save (): void {
    try {
      fs.mkdirSync(dirname(this.#path), { recursive: true })
      const tmp = `${this.#path}.tmp`
      fs.writeFileSync(tmp, JSON.stringify([...this.#results]))
      fs.renameSync(tmp, this.#path)
    } catch (err) {
      log.error('baseline cache not written to %s: %e', this.#path, err)
    }
  }
}
