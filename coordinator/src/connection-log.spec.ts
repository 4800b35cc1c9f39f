import { describe, expect, it } from 'vitest'
import { ConnectionLog, type PeerChange } from './connection-log.ts'

const change = (i: number, kind: PeerChange['change'] = 'connected'): PeerChange => ({ change: kind, peer: `peer${i}`, address: `/ip4/10.0.0.${i}/tcp/1` })

describe('connection log', () => {
  it('gives each change a line while a window is quiet', () => {
    const log = new ConnectionLog({ perWindow: 3, windowMs: 1000 })
    expect(log.note(change(1), 0)).toEqual({ line: change(1) })
    expect(log.note(change(1, 'disconnected'), 10)).toEqual({ line: change(1, 'disconnected') })
    expect(log.close(1000)).toBeUndefined()
  })

  it('counts the changes past the limit and sums them up when the window ends', () => {
    const log = new ConnectionLog({ perWindow: 2, windowMs: 1000 })
    const lines = [1, 2, 3, 4, 5].map((i) => log.note(change(i, i === 5 ? 'disconnected' : 'connected'), i).line).filter((l) => l !== undefined)
    expect(lines).toHaveLength(2)
    // The next change after the window ends brings the summary and gets a line of its own.
    expect(log.note(change(6), 1001)).toEqual({ line: change(6), summary: { connected: 2, disconnected: 1, windowMs: 1000 } })
  })

  it('says nothing at the end of a window whose changes all had lines', () => {
    const log = new ConnectionLog({ perWindow: 2, windowMs: 1000 })
    log.note(change(1), 0)
    expect(log.note(change(2), 5000)).toEqual({ line: change(2) })
  })
})
