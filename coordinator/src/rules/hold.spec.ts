import { describe, expect, it } from 'vitest'
import { heldBy } from './hold.ts'

const f = (seq: number, submissions: number, leaseUntil = 1000): { seq: number, submissions: number, leaseUntil: number } => ({ seq, submissions, leaseUntil })

describe('heldBy', () => {
  it('holds a pass while a candidate carrying more submissions is in flight on the same best', () => {
    expect(heldBy(1, [f(7, 40), f(8, 1)])).toEqual([f(7, 40)])
    expect(heldBy(3, [f(7, 40), f(9, 5)]).map((x) => x.seq)).toEqual([7, 9])
  })

  it('lets it merge when nothing larger is in flight: a single or an equal group does not hold it', () => {
    expect(heldBy(1, [])).toEqual([])
    expect(heldBy(1, [f(8, 1), f(9, 1)])).toEqual([])
    expect(heldBy(40, [f(7, 40), f(8, 12)])).toEqual([])
  })
})
