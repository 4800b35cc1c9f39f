import { describe, expect, it } from 'vitest'
import { heldBy, PATIENCE, waitEnds, type InFlight } from './hold.ts'

/** A candidate in flight with one live lease of 3 pairs, leased at 0. */
const f = (seq: number, submissions: number, leaseUntil = 1000): InFlight => ({ seq, submissions, jobs: [{ leasedAt: 0, leaseUntil, pairs: 3 }] })

describe('heldBy', () => {
  it('holds a pass while a candidate carrying more submissions is in flight on the same best', () => {
    expect(heldBy(1, [f(7, 40), f(8, 1)], 0)).toEqual([f(7, 40)])
    expect(heldBy(3, [f(7, 40), f(9, 5)], 0).map((x) => x.seq)).toEqual([7, 9])
  })

  it('lets it merge when nothing larger is in flight: a single or an equal group does not hold it', () => {
    expect(heldBy(1, [], 0)).toEqual([])
    expect(heldBy(1, [f(8, 1), f(9, 1)], 0)).toEqual([])
    expect(heldBy(40, [f(7, 40), f(8, 12)], 0)).toEqual([])
  })

  it('holds no longer than the larger candidate\'s lease, nor past PATIENCE times its pairs at the passer\'s pace', () => {
    expect(heldBy(1, [f(7, 40, 1000)], 999)).toHaveLength(1)
    expect(heldBy(1, [f(7, 40, 1000)], 1000)).toEqual([])
    // 3 pairs at 50 ms a pair, leased at 0: overdue at PATIENCE × (3 + 1) × 50 ms, well before the lease's end.
    const due = PATIENCE * 50 * 4
    expect(waitEnds(f(7, 40, 100_000), 50)).toBe(due)
    expect(heldBy(1, [f(7, 40, 100_000)], due - 1, 50)).toHaveLength(1)
    expect(heldBy(1, [f(7, 40, 100_000)], due, 50)).toEqual([])
    // A pace that would outlast the lease: the lease ends it.
    expect(waitEnds(f(7, 40, 1000), 10_000)).toBe(1000)
  })

  it('waits for the last of a split round\'s live leases', () => {
    const split: InFlight = { seq: 7, submissions: 40, jobs: [{ leasedAt: 0, leaseUntil: 1000, pairs: 1 }, { leasedAt: 400, leaseUntil: 1400, pairs: 2 }] }
    expect(waitEnds(split)).toBe(1400)
    expect(waitEnds(split, 100)).toBe(400 + PATIENCE * 100 * 3)
  })
})
