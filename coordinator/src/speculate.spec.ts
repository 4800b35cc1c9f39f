import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { driveCarries, Speculation, type CarryRequest } from './speculate.ts'
import { Store, type CandidateRow } from './store/index.ts'

describe('Speculation', () => {
  it('starts its window at 1, grows it per merge up to the declared window, halves it per rejection; it is open while above 0', () => {
    const s = new Speculation(3)
    expect([s.window, s.open]).toEqual([1, true])
    for (const v of ['merged', 'merged', 'merged'] as const) s.record(v)
    expect(s.window).toBe(3)
    s.record('rejected')
    expect(s.window).toBe(1)
    s.record('rejected')
    expect([s.window, s.open]).toEqual([0, false])
  })

  it('keeps its window in the store across a restart, within the window declared then', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ar-speculation-')), 'db.sqlite')
    const store = new Store(path)
    const s = new Speculation(4, store)
    for (const v of ['merged', 'merged'] as const) s.record(v)
    expect(s.window).toBe(3)
    store.close()
    const again = new Store(path)
    try {
      expect(new Speculation(4, again).window).toBe(3)
      // A host that lowered the declared window since.
      expect(new Speculation(2, again).window).toBe(2)
      again.setMeta('speculation_window', 'garbage')
      expect(new Speculation(4, again).window).toBe(1)
    } finally {
      again.close()
    }
  })

  it('remembers what did not fit onto a tip until the tip changes', () => {
    const s = new Speculation(2)
    expect(s.fits(5, 1)).toBe(true)
    s.unfit(5, 1)
    expect(s.fits(5, 1)).toBe(false)
    expect(s.fits(6, 1)).toBe(true)
    // A new tip: everything may be tried again (and the old tip's memory is gone).
    expect(s.fits(5, 2)).toBe(true)
    expect(s.fits(5, 1)).toBe(true)
  })
})

describe('driveCarries', () => {
  it('answers each carry request in turn and returns what the steps return', async () => {
    const asked: number[] = []
    function * steps (): Generator<CarryRequest, string, boolean> {
      for (const seq of [1, 2, 3]) {
        if (yield { candidate: { seq } as CandidateRow, tip: { seq: 9 } as CandidateRow }) return `fit ${seq}`
      }
      return 'none'
    }
    expect(await driveCarries(steps(), async ({ candidate }) => { asked.push(candidate.seq); return candidate.seq === 2 })).toBe('fit 2')
    expect(asked).toEqual([1, 2])
    expect(await driveCarries(steps(), async () => false)).toBe('none')
  })
})
