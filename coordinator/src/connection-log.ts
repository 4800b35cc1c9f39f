/** A peer connected or went away (the `serve` command prints it, a line each, up to `perWindow` a window). */
export interface PeerChange { change: 'connected' | 'disconnected', peer: string, address: string }

/** What a busy window came to, beyond the lines it printed. */
export interface PeerSummary { connected: number, disconnected: number, windowMs: number }

export const CONNECTION_LOG = { perWindow: 20, windowMs: 60_000 }

/**
 * Decides which peer connections get a line of their own: the first `perWindow` changes in
 * each window, then only a count, given when the window ends (`close`), so that a busy
 * network (or a stranger redialling) cannot flood the operator's terminal.
 */
export class ConnectionLog {
  readonly #limits: typeof CONNECTION_LOG
  #windowStart = -Infinity
  #shown = 0
  #connected = 0
  #disconnected = 0

  constructor (limits: Partial<typeof CONNECTION_LOG> = {}) {
    this.#limits = { ...CONNECTION_LOG, ...limits }
  }

  /** The change itself when it gets a line; undefined when it is only counted. `at` ends an older window first (see `close`). */
  note (change: PeerChange, at: number): { line?: PeerChange, summary?: PeerSummary } {
    const summary = at - this.#windowStart >= this.#limits.windowMs ? this.close(at) : undefined
    if (this.#shown < this.#limits.perWindow) {
      this.#shown++
      return { line: change, ...(summary === undefined ? {} : { summary }) }
    }
    if (change.change === 'connected') this.#connected++
    else this.#disconnected++
    return summary === undefined ? {} : { summary }
  }

  /** Ends the window: the count of the changes that got no line, if any; a new window starts at `at`. */
  close (at: number): PeerSummary | undefined {
    const summary = this.#connected + this.#disconnected > 0 ? { connected: this.#connected, disconnected: this.#disconnected, windowMs: this.#limits.windowMs } : undefined
    this.#windowStart = at
    this.#shown = 0
    this.#connected = 0
    this.#disconnected = 0
    return summary
  }
}
