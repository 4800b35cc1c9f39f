import { logger } from '@libp2p/logger'
import { MAX_REPORTS_PER_BATCH, type CoordinatorClient, type ExperimentDiff, type ExperimentReport, type ExperimentStatus, type Hardware, type Identity } from '@autoresearch/protocol'
import type { WorkerEvent } from '../events.ts'
import { findLeaks, publicText, type Leak, type Secret } from '../secrets.ts'

const log = logger('autoresearch:worker:reports')

/** Reports kept for sending at most; past it the oldest are dropped (they are information, not results). */
export const MAX_QUEUED_REPORTS = 1024

/** Refusals after which a batch is dropped, not sent again: the coordinator will refuse it again. */
const FINAL = new Set(['InvalidMessageError', 'InvalidSignatureError', 'WrongCauseError', 'UnknownParentError', 'BannedError', 'ReplayedNonceError', 'StaleMessageError', 'MessageTooLargeError'])

export interface ReportOf {
  /** The network best the experiment ran on. */
  best: string
  commit: string
  status: ExperimentStatus
  metric: number | null
  noise: number | null
  seed: number
  description: string
  change: ExperimentDiff
  nearKey?: string | null
  hypothesis?: number
}

/** The report of one experiment, as the wire carries it. */
export function experimentReport (of: ReportOf, now = Date.now()): ExperimentReport {
  return {
    best: of.best, commit: of.commit, status: of.status, metric: of.metric, noise: of.noise, seed: of.seed,
    description: publicText(of.description), diff: of.change.diff, diffHash: of.change.diffHash,
    ...(of.nearKey == null ? {} : { nearKey: of.nearKey }), ...(of.hypothesis === undefined ? {} : { hypothesis: of.hypothesis }), time: now
  }
}

/**
 * The volunteer's secrets a report would carry: in its description, or in the lines its diff
 * adds (an agent that copied a key into the code). Such a report is never sent, as a
 * submission that carries one is not (secrets.ts).
 */
export function leaksInReport (report: Pick<ExperimentReport, 'description' | 'diff'>, secrets: Secret[]): Leak[] {
  const added = report.diff.split('\n').filter((l) => l.startsWith('+') && !l.startsWith('+++ ')).map((l) => l.slice(1)).join('\n')
  return findLeaks([{ path: 'the description', after: report.description }, { path: 'the diff', after: added }], secrets)
}

export interface ReporterDeps {
  client: Pick<CoordinatorClient, 'report'>
  identity: Identity
  hardware?: Hardware
  emit: (event: WorkerEvent) => void
}

/**
 * Sends every experiment to the network (issue [collab]: every experiment is shared), in
 * signed batches, one request at a time, without holding up the loop. A batch the network
 * did not take stays queued and goes with the next flush (the queue is in state.json, so
 * a restart sends it too); one the coordinator refused for good is dropped with an event.
 */
export class Reporter {
  readonly #deps: ReporterDeps
  #queue: ExperimentReport[]
  #flushing?: Promise<void>
  #causeId?: string

  constructor (deps: ReporterDeps, queued: ExperimentReport[] = []) {
    this.#deps = deps
    this.#queue = queued.slice(-MAX_QUEUED_REPORTS)
  }

  /** Reports not sent yet (what state.json keeps). */
  get queued (): ExperimentReport[] { return [...this.#queue] }

  add (causeId: string, report: ExperimentReport): void {
    this.#causeId = causeId
    this.#queue.push(report)
    if (this.#queue.length > MAX_QUEUED_REPORTS) this.#queue.splice(0, this.#queue.length - MAX_QUEUED_REPORTS)
  }

  /** Starts sending what is queued unless a send is under way; returns when that flush ends (it never throws). */
  async flush (options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#flushing ??= this.#send(options).finally(() => { this.#flushing = undefined })
    await this.#flushing
  }

  async #send (options: { signal?: AbortSignal }): Promise<void> {
    const causeId = this.#causeId
    while (causeId !== undefined && this.#queue.length > 0 && options.signal?.aborted !== true) {
      const batch = this.#queue.slice(0, MAX_REPORTS_PER_BATCH)
      try {
        const reply = await this.#deps.client.report(this.#deps.identity, causeId, batch, { ...options, ...(this.#deps.hardware === undefined ? {} : { hardware: this.#deps.hardware }) })
        this.#queue.splice(0, batch.length)
        this.#deps.emit({ type: 'reports-sent', count: reply.accepted, firstSeq: reply.firstSeq })
      } catch (err) {
        const name = err instanceof Error ? err.name : 'Error'
        const dropped = FINAL.has(name)
        if (dropped) this.#queue.splice(0, batch.length)
        this.#deps.emit({ type: 'report-failed', error: name, message: err instanceof Error ? err.message : String(err), dropped: dropped ? batch.length : 0 })
        log('reports not sent: %e', err)
        return
      }
    }
  }
}
