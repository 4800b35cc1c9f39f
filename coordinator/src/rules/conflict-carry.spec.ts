import { describe, expect, it } from 'vitest'
import { carriesOwnLines } from './conflict-carry.ts'

const cause = (conflicts: 'stale' | 'candidate', direction: 'minimize' | 'maximize' = 'minimize') =>
  ({ metric: { name: 'loss', direction }, verification: { minImprovement: 0.05, conflicts } }) as unknown as Parameters<typeof carriesOwnLines>[0]

describe('carriesOwnLines', () => {
  it('never where the cause sends conflicts back stale (the default)', () => {
    expect(carriesOwnLines(cause('stale'), 1.0, () => 5.0)).toBe(false)
  })

  it('carries a claim that beats the new best by the margin', () => {
    expect(carriesOwnLines(cause('candidate'), 4.9, () => 5.0)).toBe(true)
    expect(carriesOwnLines(cause('candidate'), 4.94, () => 5.0)).toBe(true)
  })

  it('not a claim the new best already matches, or beats', () => {
    expect(carriesOwnLines(cause('candidate'), 4.96, () => 5.0)).toBe(false)
    expect(carriesOwnLines(cause('candidate'), 6.0, () => 5.0)).toBe(false)
  })

  it('reads the direction of the metric', () => {
    expect(carriesOwnLines(cause('candidate', 'maximize'), 5.1, () => 5.0)).toBe(true)
    expect(carriesOwnLines(cause('candidate', 'maximize'), 4.9, () => 5.0)).toBe(false)
  })

  it('not without a verified metric for the new best (a best imported or reverted to)', () => {
    expect(carriesOwnLines(cause('candidate'), 1.0, () => null)).toBe(false)
    expect(carriesOwnLines(cause('candidate'), 1.0, () => undefined)).toBe(false)
  })
})
