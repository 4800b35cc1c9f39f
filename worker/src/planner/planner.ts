import { EventEmitter } from 'node:events'
import { setTimeout as delay } from 'node:timers/promises'
import { join } from 'node:path'
import * as fs from 'node:fs'
import { logger } from '@libp2p/logger'
import { ensureBareRepo, MAX_HYPOTHESES_PER_POST, type CoordinatorClient, type Identity } from '@autoresearch/protocol'
import { describeError } from '../events.ts'
import { editableFiles } from '../operations/editable-files.ts'
import { publicText } from '../secrets.ts'
import type { HypothesisSource } from './sources.ts'

const log = logger('autoresearch:worker:planner')

export type PlannerEvent =
  | { type: 'planned', best: string, ids: number[], hypotheses: string[] }
  | { type: 'plan-failed', error: string, message: string }
  | { type: 'nothing-to-plan', best: string }

export interface PlannerOptions {
  client: CoordinatorClient
  identity: Identity
  source: HypothesisSource
  /** Holds the local cause repository. */
  stateDir: string
  /** Time between rounds (default 60 s); a new best starts a round at once. */
  intervalMs?: number
  /** Hypotheses posted per round at most (default 5). */
  perRound?: number
  /** Open hypotheses above which a round posts nothing (default 20: workers have enough to take). */
  maxOpen?: number
}

/**
 * `--role planner`: reads program.md, the best and what the network tried, and posts
 * hypotheses (signed) for workers to take. It runs nothing: no sandbox, no GPU.
 */
export class Planner extends EventEmitter<{ event: [PlannerEvent] }> {
  readonly #opts: PlannerOptions
  readonly #gitdir: string
  #rounds = 0
  /** The last best whose objects are here. */
  #synced?: string

  constructor (opts: PlannerOptions) {
    super()
    this.#opts = opts
    fs.mkdirSync(opts.stateDir, { recursive: true })
    this.#gitdir = join(opts.stateDir, 'cause.git')
  }

  get rounds (): number { return this.#rounds }

  /** One round: returns the ids posted (none when enough are open or nothing is left to suggest). */
  async round (options: { signal?: AbortSignal } = {}): Promise<number[]> {
    const { client, identity, source } = this.#opts
    this.#rounds++
    const info = await client.info(options)
    await ensureBareRepo(this.#gitdir)
    if (this.#synced !== info.best.commit) {
      await client.sync(this.#gitdir, info.best.commit, this.#synced === undefined ? [] : [this.#synced], { ...options, limits: info.manifest.limits })
      this.#synced = info.best.commit
    }
    const history = await client.history(info.best.commit, options)
    if (history.hypotheses.length >= (this.#opts.maxOpen ?? 20)) return []
    const files = await editableFiles(this.#gitdir, info.manifest, info.best.commit)
    const max = Math.min(this.#opts.perRound ?? 5, MAX_HYPOTHESES_PER_POST)
    const planned = await source.plan({ manifest: info.manifest, program: info.program, files, network: history.experiments, open: history.hypotheses, digest: history.digest, max, signal: options.signal })
    // Every worker's agent reads them: no path of this machine in them (secrets.ts).
    const texts = planned.map((t) => publicText(t, 500)).filter((t) => t !== '')
    if (texts.length === 0) {
      this.emit('event', { type: 'nothing-to-plan', best: info.best.commit })
      return []
    }
    const { ids } = await client.postHypotheses(identity, info.causeId, info.best.commit, texts, options)
    this.emit('event', { type: 'planned', best: info.best.commit, ids, hypotheses: texts })
    return ids
  }

  /** Rounds until `signal` aborts or `maxRounds` ran; a failed round is said and retried after the interval. */
  async run (opts: { signal?: AbortSignal, maxRounds?: number } = {}): Promise<void> {
    const { signal, maxRounds } = opts
    const intervalMs = this.#opts.intervalMs ?? 60_000
    // A function, not a narrowed property: the round may abort the signal.
    const stopped = (): boolean => signal?.aborted === true
    while (!stopped() && (maxRounds === undefined || this.#rounds < maxRounds)) {
      try {
        await this.round({ signal })
      } catch (err) {
        if (stopped()) return
        log('a planning round failed: %e', err)
        this.emit('event', { type: 'plan-failed', ...describeError(err) })
      }
      if (maxRounds !== undefined && this.#rounds >= maxRounds) return
      await delay(intervalMs, undefined, signal === undefined ? {} : { signal }).catch((err) => { log('the wait between rounds ended: %e', err) })
    }
  }
}
