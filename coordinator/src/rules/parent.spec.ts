import { describe, expect, it } from 'vitest'
import { mayBuildOn } from './parent.ts'

describe('the parent a submission may name', () => {
  it('is any best, and never a commit that is neither a best nor a candidate', () => {
    expect(mayBuildOn({ merged: true }, 'alice', { buildOnPending: false })).toBe(true)
    expect(mayBuildOn({ merged: false }, 'alice', { buildOnPending: true })).toBe(false)
  })

  it("is the submitter's own candidate, whatever the cause declares", () => {
    expect(mayBuildOn({ merged: false, candidateOf: 'alice' }, 'alice', { buildOnPending: false })).toBe(true)
  })

  it("is another key's candidate only where the cause declares buildOnPending", () => {
    expect(mayBuildOn({ merged: false, candidateOf: 'bob' }, 'alice', { buildOnPending: false })).toBe(false)
    expect(mayBuildOn({ merged: false, candidateOf: 'bob' }, 'alice', { buildOnPending: true })).toBe(true)
  })
})
