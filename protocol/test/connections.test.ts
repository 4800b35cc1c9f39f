import { describe, expect, it } from 'vitest'
import { CONNECTION_LIMITS, PerKeyCounter } from '../src/connections.ts'

describe('per-key counter', () => {
  it('caps each key on its own and gives a slot back on release', () => {
    const c = new PerKeyCounter(2)
    expect(c.take('a')).toBe(true)
    expect(c.take('a')).toBe(true)
    expect(c.take('a')).toBe(false)
    expect(c.count('a')).toBe(2)
    expect(c.take('b')).toBe(true)
    c.release('a')
    expect(c.take('a')).toBe(true)
  })

  it('forgets a key that holds nothing, and a stray release does not go below zero', () => {
    const c = new PerKeyCounter(1)
    c.take('a')
    c.release('a')
    c.release('a')
    expect(c.keys).toBe(0)
    expect(c.count('a')).toBe(0)
    expect(c.take('a')).toBe(true)
    expect(c.take('a')).toBe(false)
  })
})

describe('connection limits', () => {
  it('leave room for many addresses at their cap, and for the pending ones beside the established', () => {
    expect(CONNECTION_LIMITS.maxPendingIncoming / CONNECTION_LIMITS.maxPendingPerAddress).toBeGreaterThanOrEqual(16)
    expect(CONNECTION_LIMITS.maxPendingIncoming).toBeLessThan(CONNECTION_LIMITS.maxConnections)
  })
})
