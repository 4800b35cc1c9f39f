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

/** Listens for the coordinator's signed announcements on the cause's topic and reports each valid one. */
export function subscribeAnnouncements (components: Pick<WorkerComponents, 'client' | 'emit'>, info: Pick<InfoReply, 'causeId' | 'coordinatorKey'>): void {
  const topic = bestTopic(info.causeId)
  const pubsub = components.client.node.services.pubsub
  pubsub.subscribe(topic)
  pubsub.addEventListener('message', (evt) => {
    if (evt.detail.topic !== topic) return
    const body = readAnnouncement(info, evt.detail.data)
    if (body !== undefined) components.emit({ type: 'announcement', body })
  })
}
