import { logger } from '@libp2p/logger'
import { bestTopic, type AnnouncementBody } from '@autoresearch/protocol'
import type { Coordinator } from '../coordinator.ts'
import type { Store } from '../store/index.ts'
import { wireBest } from './info.ts'

const log = logger('autoresearch:coordinator:announce')

export type AnnounceDeps = Pick<Coordinator, 'causeId' | 'identity' | 'node' | 'recover' | 'serially' | 'emit'> & { store: Pick<Store, 'lastMerge'> }

/**
 * The `announcement` on the cause's pubsub topic: a signed note that the best moved, by a
 * merge here, or a revert or program update from an admin command (another process, noticed by polling).
 */
export class Announcer {
  readonly #c: AnnounceDeps
  #announced?: string
  #watch?: NodeJS.Timeout

  constructor (c: AnnounceDeps) {
    this.#c = c
  }

  /** Publishes a signed announcement when the best moved since the last one (the first call only notes the best). */
  async announceIfMoved (): Promise<void> {
    const c = this.#c
    const best = c.store.lastMerge()
    if (best === undefined || best.commit_oid === this.#announced) return
    await c.recover()
    const first = this.#announced === undefined
    this.#announced = best.commit_oid
    if (first) return
    const kind = best.kind === 'revert' || best.kind === 'program' ? best.kind : 'merge'
    const body: AnnouncementBody = { type: 'announcement', causeId: c.causeId, best: wireBest(best), kind, time: Date.now() }
    c.emit('event', { type: 'best-changed', commit: best.commit_oid, seq: body.best.seq, kind })
    const data = new TextEncoder().encode(JSON.stringify({ body, signature: c.identity.sign('announcement', body) }))
    // Peers that miss it learn the best from `info` when they next sync.
    await c.node?.services.pubsub.publish(bestTopic(c.causeId), data).catch((err) => { log('publishing the announcement of %s failed: %e', best.commit_oid, err) })
  }

  /** Polls for a best moved by another process (the admin `revert`) and announces it. */
  watch (intervalMs: number): void {
    this.#watch = setInterval(() => {
      // The next tick tries again; a failure here must not stop the polling.
      this.#c.serially(async () => { await this.announceIfMoved() }).catch((err) => { log.error('announcing a moved best failed: %e', err) })
    }, intervalMs)
    this.#watch.unref()
  }

  stop (): void {
    if (this.#watch !== undefined) clearInterval(this.#watch)
  }
}
