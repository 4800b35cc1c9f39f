import { setTimeout as delay } from 'node:timers/promises'
import { logger } from '@libp2p/logger'

const log = logger('autoresearch:protocol:retry')

/** An AbortController that SIGINT (Ctrl-C) and SIGTERM abort, so long work stops cleanly. */
export function abortOnSignals (): AbortController {
  const controller = new AbortController()
  const stop = (): void => { controller.abort() }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  return controller
}

export interface RetryOptions {
  signal: AbortSignal
  /** Checked before every round: true ends the loop. */
  done: () => boolean
  /** A failed round, and when the next one starts. */
  onError: (err: Error, retryInMs: number) => void
  minMs?: number
  maxMs?: number
}

/**
 * Runs `round` until `done()` or the signal aborts. A round that throws (the
 * coordinator is unreachable, a connection broke) is retried after a backoff that
 * doubles from 1 s to 60 s; a round that succeeds resets it. The wait ends at once
 * on abort.
 */
export async function retryWithBackoff (round: () => Promise<void>, opts: RetryOptions): Promise<void> {
  const minMs = opts.minMs ?? 1000
  let backoffMs = minMs
  while (!opts.signal.aborted && !opts.done()) {
    try {
      await round()
      backoffMs = minMs
    } catch (err) {
      if (opts.signal.aborted) break
      opts.onError(err as Error, backoffMs)
      // An abort ends the wait early; the loop's condition then stops it.
      await delay(backoffMs, undefined, { signal: opts.signal }).catch((err) => { log('backoff ended early: %e', err) })
      backoffMs = Math.min(backoffMs * 2, opts.maxMs ?? 60_000)
    }
  }
}
