import { describe, expect, it } from 'vitest'
import { diffHidden } from './candidate.ts'

const closed = { provisional: false, carriedUnjudged: false }

describe("a candidate's diff on the public site", () => {
  it('is shown once verification decided it, and hidden while it is open or stale', () => {
    for (const state of ['merged', 'rejected', 'reverted', 'rebased'] as const) expect(diffHidden(state, closed), state).toBeNull()
    for (const state of ['queued', 'verifying', 'passed', 'stale'] as const) expect(diffHidden(state, closed), state).not.toBeNull()
  })

  it('is hidden while its change lives on in a candidate still open or gone stale: a rebase, a merge group, the halves of a failed group', () => {
    for (const state of ['rebased', 'rejected'] as const) expect(diffHidden(state, { ...closed, carriedUnjudged: true }), state).toMatch(/still being verified or went stale/)
    // A merge is final, whatever carries its change.
    expect(diffHidden('merged', { ...closed, carriedUnjudged: true })).toBeNull()
  })

  it('is hidden after a provisional rejection: measured on top of a candidate that has not merged', () => {
    expect(diffHidden('rejected', { ...closed, provisional: true })).toMatch(/has not merged/)
  })
})
