import { describe, expect, it } from 'vitest'
import { LeaseHolds, wakesVerifiers } from './lease-holds.ts'

describe('held lease requests', () => {
  it('refuses beyond the per-peer and total caps with QuotaExceededError, and frees a slot on release', () => {
    const holds = new LeaseHolds({ perPeer: 2, total: 3 })
    const a1 = holds.enter('a')
    holds.enter('a')
    expect(() => holds.enter('a')).toThrow(expect.objectContaining({ name: 'QuotaExceededError' }))
    holds.enter('b')
    expect(() => holds.enter('c')).toThrow(expect.objectContaining({ name: 'QuotaExceededError' }))
    a1()
    a1()
    expect(holds.held).toBe(2)
    expect(() => holds.enter('a')).not.toThrow()
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

  it('wakes on what can make a job leasable, not on a lease or a refused submission', () => {
    expect(wakesVerifiers({ type: 'receipt', candidateSeq: 1, submitter: 'a', claimedMetric: 1, description: '' })).toBe(true)
    expect(wakesVerifiers({ type: 'rebased', candidateSeq: 1, newSeq: 2 })).toBe(true)
    expect(wakesVerifiers({ type: 'best-changed', commit: 'c', seq: 1, kind: 'revert' })).toBe(true)
    expect(wakesVerifiers({ type: 'leased', jobId: 1, candidateSeq: 1, verifier: 'v' })).toBe(false)
    expect(wakesVerifiers({ type: 'submission-rejected', error: 'E', message: 'm' })).toBe(false)
  })
})
