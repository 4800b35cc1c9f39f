import { logger } from '@libp2p/logger'
import type { CoordinatorClient, Hypothesis, PendingCandidate, SharedExperiment } from '@autoresearch/protocol'
import { describeError, type WorkerEvent } from '../events.ts'
import { FailureStreak } from '../failure-streak.ts'

const log = logger('autoresearch:worker:history')

/** How long what the network tried on a best is used before it is read again. */
export const HISTORY_REFRESH_MS = 30_000

/** What the agent is told the network tried, and the edits it must not propose again. */
export interface KnownHistory {
  experiments: SharedExperiment[]
  /** Normalized diff hashes tried on the best, by anyone (this worker's own included). */
  tried: ReadonlySet<string>
  /** Those this worker ran itself. */
  own: ReadonlySet<string>
  /** Planners' hypotheses nobody has tested yet. */
  hypotheses: Hypothesis[]
  /** The latest digest of findings, if one was written. */
  digest: string | null
  /** Candidates queued on the best, in verification order, where the cause lets workers build on them (operations/adopt.ts). */
  pending: PendingCandidate[]
}

/**
 * What the network tried on the best this worker follows (`history`), read again every
 * HISTORY_REFRESH_MS or when the best moves; this worker's own edits are added as it runs
 * them, so a duplicate is caught before its report reaches the coordinator. A coordinator that
 * cannot answer costs the agent that context, never the loop (an event says so, once per failure streak).
 */
export class NetworkHistory {
  /** Undefined: the worker does not share (WorkerOptions.share), and knows only its own runs. */
  readonly #client: Pick<CoordinatorClient, 'history'> | undefined
  readonly #emit: (event: WorkerEvent) => void
  readonly #refreshMs: number
  #best?: string
  #at = -Infinity
  #experiments: SharedExperiment[] = []
  #hypotheses: Hypothesis[] = []
  #digest: string | null = null
  #pending: PendingCandidate[] = []
  /** The read under way, if any: a call for the same best meanwhile waits for its answer instead of returning what was known before. */
  #reading?: { best: string, read: Promise<void> }
  readonly #tried = new Set<string>()
  readonly #own = new Set<string>()
  /** Reads that failed: `history-failed` is said once per streak of them. */
  readonly #failures = new FailureStreak()

  constructor (client: Pick<CoordinatorClient, 'history'> | undefined, emit: (event: WorkerEvent) => void, refreshMs = HISTORY_REFRESH_MS) {
    this.#client = client
    this.#emit = emit
    this.#refreshMs = refreshMs
  }

  /**
   * What is known of `best`, read from the coordinator when it is older than the refresh
   * interval, or now with `fresh` (the queue a worker may build on changes with every submission).
   */
  async on (best: string, options: { signal?: AbortSignal, fresh?: boolean } = {}, now = Date.now()): Promise<KnownHistory> {
    if (best !== this.#best) {
      this.#best = best
      this.#at = -Infinity
      this.#experiments = []
      this.#hypotheses = []
      this.#pending = []
      this.#tried.clear()
      this.#own.clear()
    }
    if (this.#client !== undefined && (now - this.#at >= this.#refreshMs || options.fresh === true)) {
      this.#at = now
      const read = this.#read(this.#client, best, options.signal)
      this.#reading = { best, read: read.catch(() => {}) }
      await read
    } else if (this.#reading?.best === best) {
      // Read meanwhile for an experiment made ahead (operations/lookahead.ts): its answer serves this call too.
      await this.#reading.read
    }
    return { experiments: this.#experiments, tried: this.#tried, own: this.#own, hypotheses: this.#hypotheses, digest: this.#digest, pending: this.#pending }
  }

  /** Reads what the network tried on `best`; an answer that comes after the loop moved to another best is dropped. Throws only when stopped. */
  async #read (client: Pick<CoordinatorClient, 'history'>, best: string, signal: AbortSignal | undefined): Promise<void> {
    try {
      const reply = await client.history(best, { signal })
      if (best !== this.#best) return
      this.#experiments = reply.experiments
      this.#hypotheses = reply.hypotheses
      this.#digest = reply.digest
      this.#pending = reply.pending ?? []
      for (const h of reply.tried) this.#tried.add(h)
      this.#failures.succeeded()
    } catch (err) {
      if (signal?.aborted === true) throw err
      log('history of %s not read: %e', best, err)
      if (this.#failures.failed()) this.#emit({ type: 'history-failed', ...describeError(err) })
    }
  }

  /** Notes that this worker claimed hypothesis `id` (it is not offered again until the history is read again). */
  taken (id: number): void {
    this.#hypotheses = this.#hypotheses.filter((h) => h.id !== id)
  }

  /** Notes an edit this worker ran on `best`. */
  ran (best: string, diffHash: string): void {
    if (best !== this.#best) return
    this.#tried.add(diffHash)
    this.#own.add(diffHash)
  }
}
