import { PerKeyCounter } from '@autoresearch/protocol'
import { GitBusy, GitClientBusy } from './errors.ts'

/** What a refused fetch is told to wait, in seconds: a small clone takes about that long. */
export const GIT_RETRY_AFTER_SECONDS = 5

/**
 * Upload-pack slots: `maxConcurrent` over all clients and `maxPerClient` of them for one
 * client, so that one address holding its share still leaves the rest to everyone else.
 */
export class UploadPackSlots {
  readonly #maxConcurrent: number
  readonly #maxPerClient: number
  readonly #perClient: PerKeyCounter
  #running = 0

  constructor (maxConcurrent: number, maxPerClient: number) {
    this.#maxConcurrent = maxConcurrent
    this.#maxPerClient = maxPerClient
    this.#perClient = new PerKeyCounter(maxPerClient)
  }

  get running (): number { return this.#running }

  /**
   * Takes a slot for `client`, or throws GitClientBusy (its share is taken: said even when
   * every slot is, so the address that fills them learns why) or GitBusy. The function
   * returned gives the slot back; calling it again does nothing.
   */
  take (client: string): () => void {
    if (!this.#perClient.take(client)) throw new GitClientBusy(this.#maxPerClient, GIT_RETRY_AFTER_SECONDS)
    if (this.#running >= this.#maxConcurrent) {
      this.#perClient.release(client)
      throw new GitBusy(GIT_RETRY_AFTER_SECONDS)
    }
    this.#running++
    let held = true
    return () => {
      if (!held) return
      held = false
      this.#running--
      this.#perClient.release(client)
    }
  }
}
