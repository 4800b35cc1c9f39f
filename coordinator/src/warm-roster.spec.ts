import { describe, expect, it } from 'vitest'
import { WarmRoster } from './warm-roster.ts'

describe('WarmRoster', () => {
  it('keeps quorum warm verifiers in reserve on a best with no job yet', () => {
    const roster = new WarmRoster()
    expect(roster.mayWarm('b', 'v1', 1)).toBe(true)
    expect(roster.mayWarm('b', 'v2', 1)).toBe(false)
    // Told once, told again (a held request asks each time it looks).
    expect(roster.mayWarm('b', 'v1', 1)).toBe(true)
    expect(roster.mayWarm('b', 'v2', 2)).toBe(true)
  })

  it('grows the reserve with the jobs the best has had, and a verifier that had a job may always warm', () => {
    const roster = new WarmRoster()
    expect(roster.mayWarm('b', 'v1', 1)).toBe(true)
    roster.served('b', 'v1')
    roster.served('b', 'v2')
    roster.served('b', 'v3')
    expect(roster.idle()).toBe(0)
    expect(roster.mayWarm('b', 'v2', 1)).toBe(true)
    expect(['v4', 'v5', 'v6', 'v7'].map((v) => roster.mayWarm('b', v, 1))).toEqual([true, true, true, false])
    expect(roster.idle()).toBe(3)
  })

  it('starts again on a new best', () => {
    const roster = new WarmRoster()
    roster.served('b', 'v1')
    roster.served('b', 'v2')
    expect(roster.mayWarm('b', 'v3', 1)).toBe(true)
    expect(roster.mayWarm('c', 'v4', 1)).toBe(true)
    expect(roster.mayWarm('c', 'v3', 1)).toBe(false)
  })
})
