import { describe, expect, it } from 'vitest'
import { retryWithBackoff } from '../src/index.ts'

describe('retryWithBackoff', () => {
  it('retries a failing round with a doubling backoff, resets it after a success, and stops when done', async () => {
    const waits: number[] = []
    const outcomes = ['fail', 'fail', 'ok', 'fail', 'ok']
    let rounds = 0
    await retryWithBackoff(async () => {
      const outcome = outcomes[rounds++]
      if (outcome === 'fail') throw new Error(`round ${rounds}`)
    }, { signal: new AbortController().signal, done: () => rounds >= outcomes.length, onError: (_err, ms) => waits.push(ms), minMs: 1, maxMs: 3 })
    expect(rounds).toBe(5)
    expect(waits).toEqual([1, 2, 1])
  })

  it('ends a long wait as soon as the signal aborts', async () => {
    const controller = new AbortController()
    let rounds = 0
    const loop = retryWithBackoff(async () => { rounds++; throw new Error('unreachable coordinator') }, {
      signal: controller.signal, done: () => false, onError: () => { setImmediate(() => { controller.abort() }) }, minMs: 3_600_000
    })
    await loop
    expect(rounds).toBe(1)
  })
})
