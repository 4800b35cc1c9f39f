import { describe, expect, it } from 'vitest'
import { agentPause, EMPTY_BEFORE_PAUSE, newBestEndsPause } from './agent-backoff.ts'

const backoff = { minMs: 1000, maxMs: 60_000 }

describe('pausing for an agent in trouble', () => {
  it('doubles from the first failure in a row up to the cap', () => {
    expect(agentPause({ errors: 0, empty: 0 }, backoff)).toBe(0)
    expect([1, 2, 3, 4].map((errors) => agentPause({ errors, empty: 0 }, backoff))).toEqual([1000, 2000, 4000, 8000])
    expect(agentPause({ errors: 20, empty: 0 }, backoff)).toBe(60_000)
  })

  it('lets a few empty proposals go by without a pause', () => {
    expect(agentPause({ errors: 0, empty: EMPTY_BEFORE_PAUSE - 1 }, backoff)).toBe(0)
    expect(agentPause({ errors: 0, empty: EMPTY_BEFORE_PAUSE }, backoff)).toBe(1000)
    expect(agentPause({ errors: 0, empty: EMPTY_BEFORE_PAUSE + 1 }, backoff)).toBe(2000)
  })

  it('ends the pause on a new best only for an agent that had nothing to propose', () => {
    expect(newBestEndsPause({ errors: 0, empty: EMPTY_BEFORE_PAUSE })).toBe(true)
    expect(newBestEndsPause({ errors: 2, empty: 0 })).toBe(false)
    expect(newBestEndsPause({ errors: 0, empty: 0 })).toBe(false)
  })
})
