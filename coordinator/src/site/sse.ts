import { PerKeyCounter } from '@autoresearch/protocol'
import type { Coordinator, CoordinatorEvent } from '../coordinator.ts'

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
    case 'rebased': return { type: e.type, candidateSeq: e.candidateSeq, newSeq: e.newSeq }
    case 'verdict': return { type: e.type, candidateSeq: e.verdict.candidateSeq, state: e.verdict.state, meanImprovement: e.verdict.meanImprovement }
    case 'merged': return { type: e.type, mergeSeq: e.mergeSeq, candidateSeq: e.candidateSeq, commit: e.commit, metric: e.metric, baselineMetric: e.baselineMetric }
    case 'best-changed': return { type: e.type, commit: e.commit, seq: e.seq, kind: e.kind }
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

const encoder = new TextEncoder()
/** Chunks queued for a client that does not read before its stream is dropped. */
const MAX_BACKLOG = 256

/** Why no stream was opened: the client holds its share, or all streams are taken (or the server stops). */
export type StreamRefusal = 'client-full' | 'full'

/** Server-sent events from the coordinator's EventEmitter, one stream per request. */
export class EventStreams {
  readonly #coordinator: Coordinator
  readonly #opts: SseOptions
  readonly #open = new Set<() => void>()
  readonly #perClient: PerKeyCounter
  #closed = false

  constructor (coordinator: Coordinator, opts: SseOptions) {
    this.#coordinator = coordinator
    this.#opts = opts
    this.#perClient = new PerKeyCounter(opts.maxStreamsPerClient)
  }

  get size (): number { return this.#open.size }

  /** A text/event-stream body for `client`, or why there is none. */
  open (client: string): ReadableStream<Uint8Array> | StreamRefusal {
    if (this.#closed) return 'full'
    // The client's own share first: an address that filled it is told so, even when all are taken.
    if (this.#perClient.count(client) >= this.#opts.maxStreamsPerClient) return 'client-full'
    if (this.#open.size >= this.#opts.maxStreams) return 'full'
    this.#perClient.take(client)
    const coordinator = this.#coordinator
    const perClient = this.#perClient
    let released = false
    // The client's slot goes back exactly once, however the stream ends.
    const release = (): void => {
      if (released) return
      released = true
      perClient.release(client)
    }
    let cleanup = release
    const streams = this.#open
    let id = 0
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        const close = (): void => {
          cleanup()
          try { controller.close() } catch { /* already closed */ }
        }
        const send = (text: string): void => {
          if ((controller.desiredSize ?? 0) < -MAX_BACKLOG) { close(); return }
          try { controller.enqueue(encoder.encode(text)) } catch { cleanup() }
        }
        const onEvent = (e: CoordinatorEvent): void => {
          const data = publicEvent(e)
          send(`event: ${e.type}\nid: ${++id}\ndata: ${JSON.stringify(data)}\n\n`)
        }
        // The coordinator closed its store: it is stopping, so are we.
        const ping = setInterval(() => { if (coordinator.store.db.open) send(': ping\n\n'); else close() }, this.#opts.pingMs)
        const end = setTimeout(close, this.#opts.maxAgeMs)
        ping.unref()
        end.unref()
        coordinator.on('event', onEvent)
        cleanup = () => {
          coordinator.off('event', onEvent)
          clearInterval(ping)
          clearTimeout(end)
          streams.delete(close)
          release()
        }
        streams.add(close)
        send('retry: 5000\n: connected\n\n')
      },
      cancel: () => { cleanup() }
    })
  }

  /** Ends every open stream (the server is stopping). */
  closeAll (): void {
    this.#closed = true
    for (const close of [...this.#open]) close()
  }
}
