import { describe, expect, it } from 'vitest'
import { begunFirst, helpersOf, openSeeds, partSize, partsTally, splittable, type PartJob } from './parts.ts'

const job = (id: number, seeds: number[], state: PartJob['state'] = 'leased'): PartJob => ({ id, seeds, state })

describe('split rounds', () => {
  it('split only where the cause asks for it, with quorum 1 and an allowlist', () => {
    expect(splittable('allowlist', { quorum: 1, splitRounds: true })).toBe(true)
    expect(splittable('allowlist', { quorum: 1, splitRounds: false })).toBe(false)
    expect(splittable('allowlist', { quorum: 2, splitRounds: true })).toBe(false)
    expect(splittable('open', { quorum: 1, splitRounds: true })).toBe(false)
  })

  it('open seeds are those no live or finished job took, in the round\'s order', () => {
    expect(openSeeds([5, 6, 7], [])).toEqual([5, 6, 7])
    expect(openSeeds([5, 6, 7], [job(1, [6]), job(2, [5], 'done')])).toEqual([7])
    expect(openSeeds([5, 6, 7], [job(1, [5, 6], 'expired')])).toEqual([5, 6, 7])
  })

  it('a verifier takes an equal share with those waiting, all when nobody waits, at least one', () => {
    expect(partSize(3, 0)).toBe(3)
    expect(partSize(3, 1)).toBe(2)
    expect(partSize(3, 2)).toBe(1)
    expect(partSize(3, 10)).toBe(1)
    expect(partSize(1, 5)).toBe(1)
  })

  it('a round\'s first part is shared with the busy verifiers too when they outnumber those waiting; later parts with those waiting only', () => {
    expect(helpersOf(0, 0, false)).toBe(0)
    // One machine asks while the other is busy: it takes 2 of 3 pairs, and the other the last when it is back.
    expect(partSize(3, helpersOf(0, 1, false))).toBe(2)
    expect(partSize(1, helpersOf(0, 1, true))).toBe(1)
    expect(helpersOf(2, 1, false)).toBe(2)
    expect(helpersOf(1, 3, false)).toBe(3)
    // The round has begun: the rest goes to those waiting, all of it to the last one.
    expect(helpersOf(0, 3, true)).toBe(0)
    expect(partSize(2, helpersOf(0, 3, true))).toBe(2)
  })

  it('a round begun goes before the queue order, so its open part is never left behind a newer candidate', () => {
    const queued = [{ seq: 9 }, { seq: 4 }, { seq: 7 }, { seq: 2 }]
    expect(begunFirst(queued, (c) => c.seq === 7 || c.seq === 2).map((c) => c.seq)).toEqual([7, 2, 9, 4])
    expect(begunFirst(queued, () => false).map((c) => c.seq)).toEqual([9, 4, 7, 2])
  })

  it('a split round is complete when every seed is attested, or when the rule already rejects', () => {
    expect(partsTally([5, 6, 7], [job(1, [5], 'done'), job(2, [6, 7], 'done')], 1, false)).toEqual({ complete: true })
    expect(partsTally([5, 6, 7], [job(1, [5], 'done'), job(2, [6]), job(3, [7], 'expired')], 2, false))
      .toEqual({ complete: false, leased: true, reason: '1 of 3 pairs of round 2 attested' })
    expect(partsTally([5, 6, 7], [job(1, [5], 'done'), job(3, [6, 7], 'expired')], 1, false)).toMatchObject({ complete: false, leased: false })
    expect(partsTally([5, 6, 7], [job(1, [5], 'done'), job(2, [6])], 1, true)).toEqual({ complete: true })
  })
})
