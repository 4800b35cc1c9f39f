import { describe, expect, it } from 'vitest'
import { TimeoutError, type HistoryReply } from '@autoresearch/protocol'
import { recorder } from '../../test/fakes.ts'
import { NetworkHistory } from './history.ts'
import { repeatOf } from './vet.ts'

const A = 'a'.repeat(40)
const B = 'b'.repeat(40)
const h = (c: string): string => c.repeat(64)

function fakeClient (replies: Array<HistoryReply | Error>): { history: (best: string) => Promise<HistoryReply>, asked: string[] } {
  const asked: string[] = []
  return {
    asked,
    history: async (best) => {
      asked.push(best)
      const next = replies.shift()
      if (next === undefined || next instanceof Error) throw next ?? new Error('no reply scripted')
      return next
    }
  }
}
const reply = (best: string, tried: string[]): HistoryReply => ({ ok: true, best, experiments: [], tried, hypotheses: [], digest: null })

describe('what the network tried', () => {
  it('is read once per refresh interval and again when the best moves', async () => {
    const client = fakeClient([reply(A, [h('1')]), reply(A, [h('1'), h('2')]), reply(B, [])])
    const history = new NetworkHistory(client, () => {}, 1000)
    expect([...(await history.on(A, {}, 0)).tried]).toEqual([h('1')])
    await history.on(A, {}, 999)
    expect(client.asked).toEqual([A])
    expect((await history.on(A, {}, 1000)).tried.has(h('2'))).toBe(true)
    expect((await history.on(B, {}, 1001)).tried.size).toBe(0)
    expect(client.asked).toEqual([A, A, B])
  })

  it('a read under way serves a call for the same best meanwhile; an answer for a best the loop has left is dropped', async () => {
    const waiting: Array<(r: HistoryReply) => void> = []
    const asked: string[] = []
    const client = { history: async (best: string) => { asked.push(best); return await new Promise<HistoryReply>((resolve) => { waiting.push(resolve) }) } }
    const history = new NetworkHistory(client, () => {}, 1000)
    // An experiment made ahead reads the best's history; the loop asks for it before the answer comes.
    const ahead = history.on(A, {}, 0)
    const loop = history.on(A, {}, 1)
    waiting.shift()?.(reply(A, [h('1')]))
    expect([...(await loop).tried]).toEqual([h('1')])
    expect([...(await ahead).tried]).toEqual([h('1')])
    expect(asked).toEqual([A])
    // Read for A again, but the loop moves to B before the answer: A's edits are not B's.
    const late = history.on(A, {}, 2000)
    const fresh = history.on(B, {}, 2001)
    expect(asked).toEqual([A, A, B])
    waiting.shift()?.(reply(A, [h('2')]))
    await late
    waiting.shift()?.(reply(B, [h('3')]))
    expect([...(await fresh).tried]).toEqual([h('3')])
  })

  it('adds the edits this worker runs, and tells its own repeats from the network\'s', async () => {
    const history = new NetworkHistory(fakeClient([reply(A, [h('1')])]), () => {}, 1000)
    history.ran(A, h('9'))
    const known = await history.on(A, {}, 0)
    history.ran(A, h('2'))
    expect(repeatOf(known, h('1'))).toBe('network')
    expect(repeatOf(known, h('2'))).toBe('self')
    expect(repeatOf(known, h('3'))).toBeUndefined()
  })

  it('says once that the coordinator could not answer, and goes on with what it knew', async () => {
    const { emit, events } = recorder()
    const history = new NetworkHistory(fakeClient([reply(A, [h('1')]), new TimeoutError('slow'), new TimeoutError('slow')]), emit, 10)
    await history.on(A, {}, 0)
    expect((await history.on(A, {}, 10)).tried.has(h('1'))).toBe(true)
    await history.on(A, {}, 20)
    expect(events).toEqual([{ type: 'history-failed', error: 'TimeoutError', message: 'slow' }])
  })
})
