import { logger } from '@libp2p/logger'
import { Announcement, bestTopic, parseMessage, verifySignature, type AnnouncementBody, type InfoReply } from '@autoresearch/protocol'
import type { WorkerComponents } from '../components.ts'

const log = logger('autoresearch:worker:announcements')

/** The announcement in `data` if the coordinator of this cause signed it; anything else is logged and ignored. */
export function readAnnouncement (info: Pick<InfoReply, 'causeId' | 'coordinatorKey'>, data: Uint8Array): AnnouncementBody | undefined {
  try {
    const { body, signature } = parseMessage(Announcement, data)
    if (body.causeId === info.causeId && verifySignature('announcement', body, signature, info.coordinatorKey)) return body
    log('ignoring an announcement not signed by this cause\'s coordinator')
  } catch (err) {
    log.error('ignoring a message that is not an announcement: %e', err)
  }
  return undefined
}

/**
 * The bests the coordinator announced. A loop with nothing to do on the best it has (it
 * does not run here, the agent has nothing to propose) waits on `changed` for the next one
 * instead of sleeping on a timer; the caller's signal bounds the wait (gossip can drop a
 * message: the caller then asks the coordinator itself).
 */
export class AnnouncedBest {
  #commit?: string
  #heard = 0
  readonly #waiting = new Set<() => void>()

  /** How many announcements were recorded: taken before a step, it tells `changed` what the step may have missed. */
  get heard (): number { return this.#heard }

  /** Records an announced best and wakes every wait for a best other than it. */
  set (body: AnnouncementBody): void {
    this.#commit = body.best.commit
    this.#heard++
    for (const wake of [...this.#waiting]) wake()
  }

  /**
   * Resolves true once a best other than `commit` is announced: at once when the latest
   * of the announcements after the first `since` is one, else at the next. Resolves false
   * when `signal` aborts first, or `withinMs` passes (the loop's backoff: gossip can drop a message).
   */
  async changed (commit: string, options: { since: number, withinMs?: number, signal?: AbortSignal }): Promise<boolean> {
    const { since, withinMs } = options
    const bound = withinMs === undefined ? undefined : AbortSignal.timeout(withinMs)
    const signal = bound === undefined ? options.signal : options.signal === undefined ? bound : AbortSignal.any([options.signal, bound])
    if (this.#heard > since && this.#commit !== commit) return true
    if (signal?.aborted === true) return false
    return new Promise<boolean>((resolve) => {
      const done = (value: boolean): void => {
        this.#waiting.delete(wake)
        signal?.removeEventListener('abort', stop)
        resolve(value)
      }
      const wake = (): void => { if (this.#commit !== commit) done(true) }
      const stop = (): void => { done(false) }
      this.#waiting.add(wake)
      signal?.addEventListener('abort', stop, { once: true })
    })
  }
}

/** Listens for the coordinator's signed announcements on the cause's topic: each valid one is recorded in `announced` and reported. */
export function subscribeAnnouncements (components: Pick<WorkerComponents, 'client' | 'emit'>, info: Pick<InfoReply, 'causeId' | 'coordinatorKey'>, announced: Pick<AnnouncedBest, 'set'>): void {
  const topic = bestTopic(info.causeId)
  const pubsub = components.client.node.services.pubsub
  pubsub.subscribe(topic)
  pubsub.addEventListener('message', (evt) => {
    if (evt.detail.topic !== topic) return
    const body = readAnnouncement(info, evt.detail.data)
    if (body === undefined) return
    announced.set(body)
    components.emit({ type: 'announcement', body })
  })
}
