import { describe, expect, it } from 'vitest'
import { listenNotes } from './listen-notes.ts'

describe('listen notes', () => {
  it('says how to open a loopback-only coordinator to other machines', () => {
    const notes = listenNotes(['/ip4/127.0.0.1/tcp/4001'], '127.0.0.1')
    expect(notes[0]).toContain('loopback only')
    expect(notes[0]).toContain('--listen /ip4/0.0.0.0/tcp/4001')
    expect(notes[1]).toContain('--http-host 0.0.0.0')
  })

  it('warns when it listens on every interface', () => {
    const notes = listenNotes(['/ip4/0.0.0.0/tcp/4001', '/ip6/::/tcp/4001'], '0.0.0.0')
    expect(notes).toEqual([expect.stringContaining('all interfaces'), expect.stringContaining('all interfaces')])
  })

  it('says nothing about a chosen interface', () => {
    expect(listenNotes(['/ip4/192.168.1.5/tcp/4001'], '192.168.1.5')).toEqual([])
  })
})
