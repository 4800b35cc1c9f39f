import { describe, expect, it } from 'vitest'
import { takeReports } from './report-rate.ts'

const limits = { perMinute: 60, burst: 10 }

describe('takeReports', () => {
  it('lets a new identity send a full burst at once', () => {
    const t = takeReports(undefined, 10, 0, limits)
    expect(t.ok).toBe(true)
    expect(t.bucket.tokens).toBe(0)
  })

  it('refuses past the burst and says when enough will have refilled', () => {
    const first = takeReports(undefined, 8, 0, limits)
    const second = takeReports(first.bucket, 5, 0, limits)
    expect(second.ok).toBe(false)
    if (!second.ok) expect(second.retryAfterMs).toBe(3000)
    const later = takeReports(second.bucket, 5, 3000, limits)
    expect(later.ok).toBe(true)
  })

  it('refills at the rate, up to the burst', () => {
    const empty = takeReports(undefined, 10, 0, limits).bucket
    expect(takeReports(empty, 1, 999, limits).ok).toBe(false)
    expect(takeReports(empty, 1, 1000, limits).ok).toBe(true)
    expect(takeReports(empty, 11, 3_600_000, limits).ok).toBe(false)
  })

  it('never admits a batch larger than the burst', () => {
    const t = takeReports(undefined, 11, 0, limits)
    expect(t.ok).toBe(false)
    if (!t.ok) expect(t.retryAfterMs).toBe(Infinity)
  })
})
