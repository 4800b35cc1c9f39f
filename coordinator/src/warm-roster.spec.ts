import { describe, expect, it } from 'vitest'
import { WarmRoster, warmReserve } from './warm-roster.ts'

const WHOLE = { quorum: 1, split: false }
const SPLIT = { quorum: 1, split: true }

describe('WarmRoster', () => {
  it('keeps quorum warm verifiers in reserve on a best with no job yet', () => {
    const roster = new WarmRoster()
    expect(roster.mayWarm('b', 'v1', WHOLE)).toBe(true)
    expect(roster.mayWarm('b', 'v2', WHOLE)).toBe(false)
    // Told once, told again (a held request asks each time it looks).
    expect(roster.mayWarm('b', 'v1', WHOLE)).toBe(true)
    expect(roster.mayWarm('b', 'v2', { quorum: 2, split: false })).toBe(true)
  })

  it('with whole rounds grows the reserve with the candidates the best has had leased, and a verifier that had a job may always warm', () => {
    const roster = new WarmRoster()
    expect(roster.mayWarm('b', 'v1', WHOLE)).toBe(true)
    roster.served('b', 'v1', 1)
    roster.served('b', 'v2', 2)
    roster.served('b', 'v3', 3)
    expect(roster.idle()).toBe(0)
    expect(roster.mayWarm('b', 'v2', WHOLE)).toBe(true)
    expect(['v4', 'v5', 'v6', 'v7'].map((v) => roster.mayWarm('b', v, WHOLE))).toEqual([true, true, true, false])
    expect(roster.idle()).toBe(3)
  })

  it('counts a candidate once, however many jobs it had', () => {
    const roster = new WarmRoster()
    // Two rounds of one candidate on two verifiers.
    roster.served('b', 'v1', 7)
    roster.served('b', 'v2', 7)
    expect(['w1', 'w2'].map((v) => roster.mayWarm('b', v, WHOLE))).toEqual([true, false])
  })

  it('with split rounds keeps a quorum in reserve: the verifiers that took parts are warm already, and each may warm the rest of the pool', () => {
    const roster = new WarmRoster()
    // Two candidates' rounds of 5 pairs, in parts on eight verifiers.
    for (const v of ['v1', 'v2', 'v3', 'v4', 'v5']) roster.served('b', v, 7)
    for (const v of ['v6', 'v7', 'v8']) roster.served('b', v, 8)
    expect(['w1', 'w2'].map((v) => roster.mayWarm('b', v, SPLIT))).toEqual([true, false])
    expect(['v1', 'v8'].map((v) => roster.mayWarm('b', v, SPLIT))).toEqual([true, true])
    expect(roster.idle()).toBe(1)
  })

  it('counts the keys already warm on a best (a merged candidate\'s verifier under reuse, read once per best) as its reserve until they take a job', () => {
    const roster = new WarmRoster()
    let reads = 0
    const already = (): string[] => { reads++; return ['v1'] }
    expect(roster.mayWarm('b', 'v2', WHOLE, already)).toBe(false)
    expect(roster.mayWarm('b', 'v1', WHOLE, already)).toBe(true)
    expect(roster.idle()).toBe(1)
    roster.served('b', 'v1', 1)
    expect(roster.mayWarm('b', 'v2', WHOLE, already)).toBe(true)
    expect(reads).toBe(1)
    // A new best reads them again.
    expect(roster.mayWarm('c', 'v2', WHOLE, () => { reads++; return [] })).toBe(true)
    expect(reads).toBe(2)
  })

  it('starts again on a new best', () => {
    const roster = new WarmRoster()
    roster.served('b', 'v1', 1)
    roster.served('b', 'v2', 2)
    expect(roster.mayWarm('b', 'v3', WHOLE)).toBe(true)
    expect(roster.mayWarm('c', 'v4', WHOLE)).toBe(true)
    expect(roster.mayWarm('c', 'v3', WHOLE)).toBe(false)
  })
})

describe('warmReserve', () => {
  it('is a quorum on a quiet best or with split rounds, and one per candidate leased on a busy best with whole rounds', () => {
    expect(warmReserve(1, false, 0)).toBe(1)
    expect(warmReserve(2, false, 1)).toBe(2)
    expect(warmReserve(1, false, 6)).toBe(6)
    expect(warmReserve(1, true, 6)).toBe(1)
    expect(warmReserve(2, true, 0)).toBe(2)
  })

  it('with whole rounds and speculation open, none for the candidate that heads the chain (the next ones go on top of it), one for each other on the best', () => {
    expect(warmReserve(1, false, 0, true)).toBe(1)
    expect(warmReserve(1, false, 1, true)).toBe(0)
    expect(warmReserve(1, false, 6, true)).toBe(5)
    // Split rounds keep their quorum.
    expect(warmReserve(1, true, 6, true)).toBe(1)
  })
})
