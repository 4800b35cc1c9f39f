import type { TrialResult } from '@autoresearch/runner'
import type { Trial } from '../components.ts'

/** How many other commits' runs are remembered (the latest local bests, one of which may be submitted). */
export const RECENT_COMMITS = 16
/** How many same-tree commits are remembered (submitted candidates, carried local bests). */
const SAME_TREE = 16

/**
 * The base's results per seed. The base changes only when the network best moves, and it
 * is re-measured on the confirmation seed before every submission: measure it once.
 *
 * A candidate this worker submitted has the tree of its local best, which already ran here
 * on the worker's seed (the experiment) and the confirmation seed. When the coordinator
 * merges it as it is, the new best is that very commit: its runs are those, and the worker
 * does not measure it again. A coordinator rebase has another tree and is measured as usual.
 * Likewise a local best carried onto our merged submission that contained it already: it is
 * the same tree as before, and its runs stand.
 */
export class BaseRuns {
  #base?: string
  readonly #runs = new Map<number, TrialResult>()
  /** Successful runs of other commits, by commit then seed; the least recently run are dropped first. */
  readonly #recent = new Map<string, Map<number, TrialResult>>()
  /** Commits with the tree of another commit whose runs stand for theirs. */
  readonly #sameTree = new Map<string, string>()
  readonly #trial: Trial

  constructor (trial: Trial) {
    this.#trial = trial
  }

  /** The commit whose runs are cached (the network best being followed). */
  get base (): string | undefined { return this.#base }

  /**
   * Follows a new base: earlier results no longer count, except that a base which is one of
   * our own submissions starts with its runs. `own` says whether it was.
   */
  rebase (commit: string): { own: boolean } {
    this.#base = commit
    this.#runs.clear()
    const source = this.#sameTree.get(commit)
    const runs = source === undefined ? undefined : this.#recent.get(source)
    for (const [seed, result] of runs ?? []) this.#runs.set(seed, result)
    return { own: runs !== undefined && runs.size > 0 }
  }

  /**
   * Takes `metric` as the base's run on `seed` (a verifier's run of it on this hardware
   * class, operations/seeds.ts): the trial answers it without running. A run made here stands.
   */
  know (seed: number, metric: number): void {
    if (this.#runs.has(seed)) return
    this.#runs.set(seed, { ok: true, metric, result: {}, memoryGb: 0, logDigest: '', logTail: '', durationMs: 0 })
  }

  /** Records that `commit` (a squash we submitted, a carried local best) has the tree of `measured`, whose runs stand for it. */
  sameTree (commit: string, measured: string): void {
    this.#sameTree.delete(commit)
    this.#sameTree.set(commit, measured)
    for (const old of [...this.#sameTree.keys()].slice(0, -SAME_TREE)) this.#sameTree.delete(old)
  }

  /** The successful run of `commit` (or of the commit whose tree it has) on `seed` remembered here, if any: a recent local best's experiment. */
  ran (commit: string, seed: number): TrialResult | undefined {
    return this.#recent.get(this.#sameTree.get(commit) ?? commit)?.get(seed)
  }

  #remember (commit: string, seed: number, result: TrialResult): void {
    const runs = this.#recent.get(commit) ?? new Map<number, TrialResult>()
    this.#recent.delete(commit)
    this.#recent.set(commit, runs.set(seed, result))
    for (const old of [...this.#recent.keys()].slice(0, -RECENT_COMMITS)) this.#recent.delete(old)
  }

  /**
   * Runs `run.commit` on `run.seed`, from the cache when it ran before without failing and
   * is the base, or has the tree of a recent commit that did.
   */
  readonly trial: Trial = async (run, options = {}) => {
    if (run.commit === this.#base) {
      const cached = this.#runs.get(run.seed)
      if (cached !== undefined) return cached
      const result = await this.#trial(run, options)
      if (result.ok && run.commit === this.#base) this.#runs.set(run.seed, result)
      return result
    }
    const source = this.#sameTree.get(run.commit)
    const result = (source === undefined ? undefined : this.#recent.get(source)?.get(run.seed)) ?? await this.#trial(run, options)
    if (result.ok) this.#remember(run.commit, run.seed, result)
    return result
  }
}
