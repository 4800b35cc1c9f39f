import { Identity, verifySignature, type AnnouncementBody } from '@autoresearch/protocol'
import { describe, expect, it } from 'vitest'
import type { CoordinatorEvent } from '../events.ts'
import type { MergeRow } from '../store/index.ts'
import { Announcer, type AnnounceDeps } from './announce.ts'

function setup (publish: (topic: string, data: Uint8Array) => Promise<unknown>) {
  const identity = Identity.generate()
  let best = { seq: 1, index: 0, commit_oid: 'a'.repeat(40), metric: 1, kind: 'initial' } as MergeRow
  const events: CoordinatorEvent[] = []
  const deps = {
    causeId: 'cause', identity, node: { services: { pubsub: { publish } } } as never,
    recover: async () => {}, serially: async <T>(fn: () => Promise<T>) => fn(),
    emit: (_: 'event', e: CoordinatorEvent) => { events.push(e); return true },
    store: { lastMerge: () => best }
  } as AnnounceDeps
  return { announcer: new Announcer(deps), identity, events, move: (row: Partial<MergeRow>) => { best = { ...best, ...row } } }
}

describe('announcements', () => {
  it('notes the best on the first call, then publishes each move once, signed', async () => {
    const sent: Array<{ topic: string, data: Uint8Array }> = []
    const { announcer, identity, events, move } = setup(async (topic, data) => { sent.push({ topic, data }) })
    await announcer.announceIfMoved()
    expect(sent).toEqual([])
    move({ seq: 2, index: 1, commit_oid: 'b'.repeat(40), metric: 0.5, kind: 'merge' })
    await announcer.announceIfMoved()
    await announcer.announceIfMoved()
    expect(sent).toHaveLength(1)
    const { body, signature } = JSON.parse(new TextDecoder().decode(sent[0]!.data)) as { body: AnnouncementBody, signature: string }
    expect(body).toMatchObject({ type: 'announcement', causeId: 'cause', best: { commit: 'b'.repeat(40), metric: 0.5, seq: 1 }, kind: 'merge' })
    expect(verifySignature('announcement', body, signature, identity.publicKey)).toBe(true)
    expect(events).toEqual([{ type: 'best-changed', commit: 'b'.repeat(40), seq: 1, kind: 'merge' }])
  })

  it('does not fail when no peer takes the announcement (it is logged)', async () => {
    const { announcer, move } = setup(async () => { throw new Error('NoPeersSubscribedToTopic') })
    await announcer.announceIfMoved()
    move({ seq: 2, index: 1, commit_oid: 'b'.repeat(40), kind: 'revert' })
    await expect(announcer.announceIfMoved()).resolves.toBeUndefined()
  })
})
