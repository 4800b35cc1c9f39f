import { describe, expect, it } from 'vitest'
import { HolderWaits, MAX_LOOKS } from './holder-waits.ts'

const waits = (): { w: HolderWaits, wakes: number[], watched: number[] } => {
  const wakes: number[] = []
  const watched: number[] = []
  const w = new HolderWaits(() => { wakes.push(1) }, (at) => { watched.push(at) })
  return { w, wakes, watched }
}

describe('HolderWaits', () => {
  it('keeps each verifier\'s last look, and forgets the oldest past MAX_LOOKS', () => {
    const { w } = waits()
    w.looked('K', 10)
    w.looked('K', 20)
    expect(w.lookedAt('K')).toBe(20)
    for (let i = 0; i < MAX_LOOKS; i++) w.looked(`v${i}`, 30 + i)
    expect(w.lookedAt('K')).toBeUndefined()
    expect(w.lookedAt(`v${MAX_LOOKS - 1}`)).toBe(30 + MAX_LOOKS - 1)
  })

  it('wakes held requests when asked to after a request was held back, once', () => {
    const { w, wakes } = waits()
    w.lookAgain()
    expect(wakes).toHaveLength(0)
    w.heldBack(Infinity, 'V')
    w.lookAgain()
    w.lookAgain()
    expect(wakes).toHaveLength(1)
  })

  it('says that another verifier\'s look may end a hold, but not the look of one held back', () => {
    const { w } = waits()
    expect(w.looked('K', 1)).toBe(false)
    w.heldBack(Infinity, 'V')
    expect(w.looked('V', 2)).toBe(false)
    expect(w.looked('K', 3)).toBe(true)
    w.lookAgain()
    expect(w.looked('K', 4)).toBe(false)
  })

  it('sets the lease timer for the earliest finite end, and wakes when it is due', () => {
    const { w, wakes, watched } = waits()
    w.heldBack(Infinity, 'V')
    w.heldBack(5000, 'V')
    w.heldBack(7000, 'W')
    expect(watched).toEqual([5000])
    expect(w.due(4000)).toBe(5000)
    expect(wakes).toHaveLength(0)
    expect(w.due(5000)).toBe(Infinity)
    expect(wakes).toHaveLength(1)
    // Nothing held back since: the timer firing again wakes no one.
    expect(w.due(9000)).toBe(Infinity)
    expect(wakes).toHaveLength(1)
  })
})
