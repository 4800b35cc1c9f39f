import type { Context } from 'hono'
import { streamSSE, type SSEStreamingApi } from 'hono/streaming'
import { logger } from '@libp2p/logger'
import { PerKeyCounter } from '@autoresearch/protocol'
import type { Coordinator, CoordinatorEvent } from '../coordinator.ts'
import type { Store } from '../store/index.ts'
import { TooManyStreams, TooManyStreamsFromClient } from './errors.ts'

/**
 * What the public stream says about each event: numbers and states only, never a
 * stranger's text (pages fetch that through their escaped HTML).
 */
export function publicEvent (e: CoordinatorEvent): Record<string, unknown> {
  switch (e.type) {
    case 'receipt': return { type: e.type, candidateSeq: e.candidateSeq, claimedMetric: e.claimedMetric }
    case 'submission-rejected': return { type: e.type, error: e.error }
    case 'leased': return { type: e.type, candidateSeq: e.candidateSeq }
    case 'stale': return { type: e.type, candidateSeq: e.candidateSeq }
    case 'rebased': return { type: e.type, candidateSeq: e.candidateSeq, newSeq: e.newSeq, ...(e.ownLines === undefined ? {} : { ownLines: e.ownLines }) }
    case 'grouped': return { type: e.type, groupSeq: e.groupSeq, members: e.members, kind: e.kind }
    case 'verdict': return { type: e.type, candidateSeq: e.verdict.candidateSeq, state: e.verdict.state, meanImprovement: e.verdict.meanImprovement }
    case 'merged': return { type: e.type, mergeSeq: e.mergeSeq, candidateSeq: e.candidateSeq, commit: e.commit, metric: e.metric, baselineMetric: e.baselineMetric }
    case 'best-changed': return { type: e.type, commit: e.commit, seq: e.seq, kind: e.kind }
    case 'experiments-reported': return { type: e.type, count: e.count, firstSeq: e.firstSeq }
    case 'hypotheses-posted': return { type: e.type, ids: e.ids }
    case 'digest-written': return { type: e.type, seq: e.seq }
  }
}

export interface SseOptions {
  /** Open streams at most, over all clients. */
  maxStreams: number
  /**
   * Open streams at most from one client (its address, as the rate limit keys it): a few
   * addresses holding idle streams must not fill `maxStreams` for everyone. A handful
   * covers several tabs and people behind one NAT.
   */
  maxStreamsPerClient: number
  /** Comment line sent this often, so proxies keep the connection. */
  pingMs: number
  /** A stream ends after this long; EventSource reconnects by itself. */
  maxAgeMs: number
}

/** Where the events come from, and whether the coordinator still runs (its store is open). */
export type EventFeed = Pick<Coordinator, 'on' | 'off'> & { store: Pick<Store, 'open'> }

const log = logger('autoresearch:coordinator:site')

/** Chunks queued for a client that does not read before its stream is dropped. */
const MAX_BACKLOG = 256

export const SSE_HEADERS = { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-store', 'X-Accel-Buffering': 'no' }

/** Server-sent events (hono/streaming's streamSSE) from the coordinator's EventEmitter, one stream per request. */
export class EventStreams {
  readonly #source: EventFeed
  readonly #opts: SseOptions
  readonly #open = new Set<() => void>()
  readonly #perClient: PerKeyCounter
  #closed = false

  constructor (source: EventFeed, opts: SseOptions) {
    this.#source = source
    this.#opts = opts
    this.#perClient = new PerKeyCounter(opts.maxStreamsPerClient)
  }

  get size (): number { return this.#open.size }

  /** A text/event-stream response for `client`; throws TooManyStreamsFromClient or TooManyStreams when it may not have one. */
  respond (c: Context, client: string): Response {
    if (this.#closed) throw new TooManyStreams()
    // The client's own share first: an address that filled it is told so, even when all are taken.
    if (this.#perClient.count(client) >= this.#opts.maxStreamsPerClient) throw new TooManyStreamsFromClient(this.#opts.maxStreamsPerClient)
    if (this.#open.size >= this.#opts.maxStreams) throw new TooManyStreams()
    this.#perClient.take(client)
    const res = streamSSE(c, async (stream) => { await this.#run(stream, client) })
    // streamSSE sets Cache-Control: no-cache; ours also forbids storing. Set on both: Hono copies the
    // context's headers onto the response it returns (all but Content-Type).
    for (const [name, value] of Object.entries(SSE_HEADERS)) {
      c.header(name, value)
      res.headers.set(name, value)
    }
    return res
  }

  /** Forwards events until the client leaves, the stream grows old or the server stops. */
  async #run (stream: SSEStreamingApi, client: string): Promise<void> {
    const source = this.#source
    let id = 0
    await new Promise<void>((resolve) => {
      let ended = false
      // However the stream ends, everything is let go exactly once; streamSSE then closes it.
      const close = (): void => {
        if (ended) return
        ended = true
        source.off('event', onEvent)
        clearInterval(ping)
        clearTimeout(end)
        this.#open.delete(close)
        this.#perClient.release(client)
        resolve()
      }
      // A write settles once the client has taken its chunk: the unsettled ones are its backlog.
      let backlog = 0
      const send = (write: () => Promise<unknown>): void => {
        if (backlog > MAX_BACKLOG) { close(); return }
        backlog++
        write().then(() => { backlog-- }, (err: unknown) => { backlog--; log.error('could not write to an event stream: %e', err) })
      }
      const onEvent = (e: CoordinatorEvent): void => {
        send(async () => stream.writeSSE({ event: e.type, id: String(++id), data: JSON.stringify(publicEvent(e)) }))
      }
      // The coordinator closed its store: it is stopping, so are we.
      const ping = setInterval(() => { if (source.store.open) send(async () => stream.write(': ping\n\n')); else close() }, this.#opts.pingMs)
      const end = setTimeout(close, this.#opts.maxAgeMs)
      ping.unref()
      end.unref()
      source.on('event', onEvent)
      stream.onAbort(close)
      this.#open.add(close)
      send(async () => stream.write('retry: 5000\n: connected\n\n'))
    })
  }

  /** Ends every open stream (the server is stopping). */
  closeAll (): void {
    this.#closed = true
    for (const close of [...this.#open]) close()
  }
}
