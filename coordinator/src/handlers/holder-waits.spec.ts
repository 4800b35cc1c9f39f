import { describe, expect, it } from 'vitest'
import type { HolderWait } from '../rules/holder.ts'
import { HolderWaits, MAX_LOOKS } from './holder-waits.ts'

// Held until live holder K attests (no end of its own), as the rule holds for a lease still measuring.
const verdict: HolderWait = { until: Infinity, awaits: ['K'] }
const grace = (until: number, ...awaits: string[]): HolderWait => ({ until, awaits })

const waits = (): { w: HolderWaits, wakes: number[], watched: number[] } => {
  const wakes: number[] = []
  const watched: number[] = []
  const w = new HolderWaits((keys) => { wakes.push(keys.length) }, (at) => { watched.push(at) })
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
    w.heldBack(verdict, 'V')
    w.lookAgain()
    w.lookAgain()
    expect(wakes).toHaveLength(1)
  })

  it('says that the look of a holder a hold waits for may end it, and no other look', () => {
    const { w } = waits()
    expect(w.looked('K', 1)).toBe(false)
    w.heldBack(grace(5000, 'K'), 'V')
    expect(w.looked('V', 2)).toBe(false)
    expect(w.looked('L', 2)).toBe(false)
    expect(w.looked('K', 3)).toBe(true)
    w.lookAgain()
    expect(w.looked('K', 4)).toBe(false)
    // Held until a live holder's verdict: its look after it ends the hold.
    w.heldBack({ until: Infinity, awaits: ['K'] }, 'V')
    expect(w.looked('L', 5)).toBe(false)
    expect(w.looked('K', 5)).toBe(true)
  })

  it('wakes the requests held back, not every one waiting', () => {
    const woken: string[][] = []
    const w = new HolderWaits((keys) => { woken.push(keys) }, () => {})
    w.heldBack(grace(5000, 'K'), 'V')
    w.heldBack(grace(5000, 'K'), 'W')
    w.lookAgain()
    expect(woken).toEqual([['V', 'W']])
  })

  it('two requests held for one holder do not wake each other: only the holder\'s look does', () => {
    const { w, wakes } = waits()
    w.heldBack(grace(5000, 'K'), 'V')
    w.heldBack(grace(5000, 'K'), 'W')
    // Woken by a job leased elsewhere: both look again and are held again.
    w.lookAgain()
    // The handler's loop (handlers/lease.ts): each woken request looks, is held again, and wakes the others only if its look ends a hold.
    const look = (who: string, at: number): void => {
      const ends = w.looked(who, at)
      w.heldBack(grace(5000, 'K'), who)
      if (ends) w.lookAgain()
    }
    for (let round = 0; round < 3; round++) {
      look('V', 10 + round)
      look('W', 10 + round)
    }
    expect(wakes).toHaveLength(1)
    expect(w.looked('K', 20)).toBe(true)
    w.lookAgain()
    expect(wakes).toHaveLength(2)
  })

  it('sets the lease timer for the earliest finite end, and wakes when it is due', () => {
    const { w, wakes, watched } = waits()
    w.heldBack(verdict, 'V')
    w.heldBack(grace(5000, 'K'), 'V')
    w.heldBack(grace(7000, 'L'), 'W')
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
