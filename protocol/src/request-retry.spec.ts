import { describe, expect, it } from 'vitest'
import { MAX_RETRY_AFTER_MS, retryAfterMs, retryDecision } from './request-retry.ts'

const opts = { retries: 3, baseMs: 1000, now: Date.parse('2026-12-02T00:00:00Z') }

describe('retrying a model endpoint', () => {
  it('retries a rate limit, a server error and an unreachable endpoint, doubling the wait', () => {
    expect(retryDecision({ status: 429 }, 0, opts)).toEqual({ retryInMs: 1000 })
    expect(retryDecision({ status: 503 }, 1, opts)).toEqual({ retryInMs: 2000 })
    expect(retryDecision({}, 2, opts)).toEqual({ retryInMs: 4000 })
  })

  it('gives up at once on other answers, and after its retries', () => {
    expect(retryDecision({ status: 401 }, 0, opts)).toEqual({ giveUp: expect.stringMatching(/401/) })
    expect(retryDecision({ status: 404 }, 0, opts)).toHaveProperty('giveUp')
    expect(retryDecision({ status: 429 }, 3, opts)).toEqual({ giveUp: expect.stringMatching(/3 retries/) })
  })

  it('honours Retry-After in seconds or as a date, up to a cap', () => {
    expect(retryDecision({ status: 429, retryAfter: '7' }, 0, opts)).toEqual({ retryInMs: 7000 })
    expect(retryDecision({ status: 429, retryAfter: 'Wed, 02 Dec 2026 00:00:30 GMT' }, 0, opts)).toEqual({ retryInMs: 30_000 })
    expect(retryDecision({ status: 429, retryAfter: '86400' }, 0, opts)).toEqual({ retryInMs: MAX_RETRY_AFTER_MS })
    expect(retryAfterMs('soon', opts.now)).toBeUndefined()
    expect(retryAfterMs(null, opts.now)).toBeUndefined()
  })
})
