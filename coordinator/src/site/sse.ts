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
  /** Comment line sent this often, so proxies keep the connection. */
  pingMs: number
  /** A stream ends after this long; EventSource reconnects by itself. */
  maxAgeMs: number
}

const encoder = new TextEncoder()
/** Chunks queued for a client that does not read before its stream is dropped. */
const MAX_BACKLOG = 256

/** Server-sent events from the coordinator's EventEmitter, one stream per client. */
export class EventStreams {
  readonly #coordinator: Coordinator
  readonly #opts: SseOptions
  readonly #open = new Set<() => void>()
  #closed = false

  constructor (coordinator: Coordinator, opts: SseOptions) {
    this.#coordinator = coordinator
    this.#opts = opts
  }

  get size (): number { return this.#open.size }

  /** A text/event-stream body, or undefined when too many streams are open. */
  open (): ReadableStream<Uint8Array> | undefined {
    if (this.#closed || this.#open.size >= this.#opts.maxStreams) return undefined
    const coordinator = this.#coordinator
    let cleanup = (): void => {}
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
