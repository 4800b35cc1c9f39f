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

  it('wakes held requests when a job is leased after a request was held back, once', () => {
    const { w, wakes } = waits()
    w.leased()
    expect(wakes).toHaveLength(0)
    w.heldBack(Infinity)
    w.leased()
    w.leased()
    expect(wakes).toHaveLength(1)
  })

  it('sets the lease timer for the earliest finite end, and wakes when it is due', () => {
    const { w, wakes, watched } = waits()
    w.heldBack(Infinity)
    w.heldBack(5000)
    w.heldBack(7000)
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
