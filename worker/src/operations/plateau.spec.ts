import { describe, expect, it } from 'vitest'
import { boldNow, boldStarts } from './plateau.ts'

describe('plateau', () => {
  it('asks for bolder changes after `plateau` experiments without a keep, for as many, then for ordinary ones again, in turns', () => {
    const phases = Array.from({ length: 12 }, (_, i) => boldNow(i, 3))
    expect(phases).toEqual([false, false, false, true, true, true, false, false, false, true, true, true])
  })

  it('says when each bold stretch starts, and only then', () => {
    expect(Array.from({ length: 12 }, (_, i) => i).filter((i) => boldStarts(i, 3))).toEqual([3, 9])
  })

  it('with a plateau of one, alternates every experiment', () => {
    expect([0, 1, 2, 3].map((i) => boldNow(i, 1))).toEqual([false, true, false, true])
  })
})
