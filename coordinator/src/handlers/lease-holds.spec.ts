import { describe, expect, it } from 'vitest'
import { LeaseHolds, verifiersToWake, type Hold } from './lease-holds.ts'

describe('held lease requests', () => {
  it('refuses beyond the per-peer and total caps with QuotaExceededError, and frees a slot on release', () => {
    const holds = new LeaseHolds({ perPeer: 2, total: 3 })
    const a1 = holds.enter('a')
    holds.enter('a')
    expect(() => holds.enter('a')).toThrow(expect.objectContaining({ name: 'QuotaExceededError' }))
    holds.enter('b')
    expect(() => holds.enter('c')).toThrow(expect.objectContaining({ name: 'QuotaExceededError' }))
    a1.release()
    a1.release()
    expect(holds.held).toBe(2)
    expect(() => holds.enter('a')).not.toThrow()
  })

  it('counts as idle every held request without a job, woken or not: a new best wakes them all, and each that looks sees the others', async () => {
    const holds = new LeaseHolds()
    const [a, b, c] = ['a', 'b', 'c'].map((peer) => holds.enter(peer)) as [Hold, Hold, Hold]
    const waits = [holds.wait(60_000, holds.generation), holds.wait(60_000, holds.generation), holds.wait(60_000, holds.generation)]
    expect(holds.idle).toBe(3)
    holds.wake()
    await Promise.all(waits)
    // None waits now, and none has a job: all three are still idle.
    expect(holds.waiting).toBe(0)
    expect(holds.idle).toBe(3)
    a.served()
    a.served()
    expect(holds.idle).toBe(2)
    a.release()
    expect(holds.idle).toBe(2)
    b.release()
    c.served()
    expect(holds.idle).toBe(0)
    c.release()
    expect([holds.held, holds.idle]).toEqual([0, 0])
  })

  it('a wait ends on wake, at once when work came after the request looked, on abort and on close', async () => {
    const holds = new LeaseHolds()
    const since = holds.generation
    const waiting = holds.wait(60_000, since)
    holds.wake()
    await waiting
    // Work arrived between the look and the wait: no wait at all.
    await holds.wait(60_000, since)

    const controller = new AbortController()
    const aborted = holds.wait(60_000, holds.generation, { signal: controller.signal })
    controller.abort()
    await aborted

    const closing = holds.wait(60_000, holds.generation)
    holds.close()
    await closing
    expect(holds.closed).toBe(true)
    await holds.wait(60_000, holds.generation)
  })

  it('wakes the named verifiers\' requests only, and one of theirs that has not begun to wait looks again at once', async () => {
    const holds = new LeaseHolds()
    const since = holds.generation
    const ended: string[] = []
    const waits = ['v', 'w', 'x'].map(async (verifier) => { await holds.wait(60_000, since, { verifier }); ended.push(verifier) })
    const unnamed = holds.wait(60_000, since).then(() => ended.push('unnamed'))
    holds.wakeVerifiers([])
    holds.wakeVerifiers(['v', 'x'])
    await Promise.all([waits[0], waits[2]])
    expect(ended.sort()).toEqual(['v', 'x'])
    expect(holds.waiting).toBe(2)
    // Between its look and its wait: the generation moved on.
    await holds.wait(60_000, since, { verifier: 'v' })
    holds.close()
    await Promise.all([waits[1], unnamed])
  })

  it('wakes as many as may take the work an event makes leasable: quorum for a candidate or a lease that ran out, all for a new best, none for a lease or a refused submission', () => {
    expect(verifiersToWake({ type: 'receipt' }, 1)).toBe(1)
    expect(verifiersToWake({ type: 'lease-ran-out' }, 2)).toBe(2)
    expect(verifiersToWake({ type: 'rebased' }, 2)).toBe(2)
    // A merge group or batch is one candidate, however many members it has.
    expect(verifiersToWake({ type: 'grouped' }, 2)).toBe(2)
    expect(verifiersToWake({ type: 'best-changed' }, 1)).toBe(Infinity)
    expect(verifiersToWake({ type: 'leased' }, 1)).toBe(0)
    expect(verifiersToWake({ type: 'submission-rejected' }, 1)).toBe(0)
  })

  it('a wake of n wakes the n that waited longest; a relay wakes the longest-waiting one that has not looked since', async () => {
    const holds = new LeaseHolds()
    const woken: string[] = []
    const waitAs = (name: string): Promise<void> => holds.wait(60_000, holds.generation).then(() => { woken.push(name) })
    const a = waitAs('a')
    const b = waitAs('b')
    const c = waitAs('c')
    holds.wake(1)
    await a
    expect(woken).toEqual(['a'])
    expect(holds.waiting).toBe(2)
    // a looked after the wake and waits again: a relay skips it and wakes b, which had not looked.
    const again = waitAs('a again')
    expect(holds.relay()).toBe(true)
    await b
    expect(woken).toEqual(['a', 'b'])
    expect(holds.relay()).toBe(true)
    await c
    expect(holds.relay()).toBe(false)
    holds.close()
    await again
    expect(woken).toEqual(['a', 'b', 'c', 'a again'])
  })

  it('wakes requests from verifiers that warmed the best first', async () => {
    const holds = new LeaseHolds()
    const woken: string[] = []
    const waitAs = (name: string, warm: boolean): Promise<void> => holds.wait(60_000, holds.generation, { warm }).then(() => { woken.push(name) })
    const cold = waitAs('cold', false)
    const warm = waitAs('warm', true)
    holds.wake(1)
    await warm
    expect(woken).toEqual(['warm'])
    expect(holds.relay()).toBe(true)
    await cold
    expect(woken).toEqual(['warm', 'cold'])
  })
})
