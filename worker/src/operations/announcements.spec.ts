import { describe, expect, it } from 'vitest'
import { Identity, type AnnouncementBody } from '@autoresearch/protocol'
import { AnnouncedBest, readAnnouncement } from './announcements.ts'

const coordinator = Identity.generate()
const info = { causeId: 'c'.repeat(64), coordinatorKey: coordinator.publicKey }
const body: AnnouncementBody = { type: 'announcement', causeId: info.causeId, best: { commit: 'a'.repeat(40), metric: 0.5, seq: 1 }, kind: 'merge', time: Date.now() }
const bytes = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))

describe('announcements', () => {
  it('reads one the cause\'s coordinator signed', () => {
    expect(readAnnouncement(info, bytes({ body, signature: coordinator.sign('announcement', body) }))).toEqual(body)
  })

  it('ignores one signed by another key, for another cause, or that is not an announcement', () => {
    expect(readAnnouncement(info, bytes({ body, signature: Identity.generate().sign('announcement', body) }))).toBeUndefined()
    const other = { ...body, causeId: 'd'.repeat(64) }
    expect(readAnnouncement(info, bytes({ body: other, signature: coordinator.sign('announcement', other) }))).toBeUndefined()
    expect(readAnnouncement(info, bytes({ hello: 1 }))).toBeUndefined()
    expect(readAnnouncement(info, new Uint8Array([0xff, 0xfe]))).toBeUndefined()
  })

  it('wakes a wait for a new best on the announcement of another best, not of the same one', async () => {
    const announced = new AnnouncedBest()
    const other = { ...body, best: { ...body.best, commit: 'b'.repeat(40), seq: 2 } }
    let woke: boolean | undefined
    const waiting = announced.changed(body.best.commit, { since: announced.heard }).then((v) => { woke = v })
    announced.set(body)
    await Promise.resolve()
    expect(woke).toBeUndefined()
    announced.set(other)
    await waiting
    expect(woke).toBe(true)
  })

  it('answers at once for an announcement heard during the step, and false when the wait is aborted', async () => {
    const announced = new AnnouncedBest()
    const since = announced.heard
    announced.set(body)
    expect(await announced.changed('f'.repeat(40), { since })).toBe(true)
    const controller = new AbortController()
    const waiting = announced.changed(body.best.commit, { since, signal: controller.signal })
    controller.abort()
    expect(await waiting).toBe(false)
    expect(await announced.changed('f'.repeat(40), { since: announced.heard, signal: controller.signal })).toBe(false)
  })

  it('gives up with false after withinMs when no other best is announced', async () => {
    const announced = new AnnouncedBest()
    const started = Date.now()
    expect(await announced.changed(body.best.commit, { since: announced.heard, withinMs: 50 })).toBe(false)
    expect(Date.now() - started).toBeGreaterThanOrEqual(40)
    expect(await announced.changed(body.best.commit, { since: announced.heard, withinMs: 60_000, signal: AbortSignal.abort() })).toBe(false)
  })
})
