import type { TrialResult } from '@autoresearch/runner'
import type { Trial } from '../components.ts'

/**
 * The base's results per seed. The base changes only when the network best moves, and it
 * is re-measured on the confirmation seed before every submission: measure it once.
 */
export class BaseRuns {
  #base?: string
  readonly #runs = new Map<number, TrialResult>()
  readonly #trial: Trial

  constructor (trial: Trial) {
    this.#trial = trial
  }

  /** The commit whose runs are cached (the network best being followed). */
  get base (): string | undefined { return this.#base }

  /** Follows a new base: earlier results no longer count. */
  rebase (commit: string): void {
    this.#base = commit
    this.#runs.clear()
  }

  /** Runs `run.commit` on `run.seed`, from the cache when it is the base and ran before without failing. */
  readonly trial: Trial = async (run, options = {}) => {
    const isBase = run.commit === this.#base
    const cached = isBase ? this.#runs.get(run.seed) : undefined
    if (cached !== undefined) return cached
    const result = await this.#trial(run, options)
    if (isBase && result.ok && run.commit === this.#base) this.#runs.set(run.seed, result)
    return result
  }
}
