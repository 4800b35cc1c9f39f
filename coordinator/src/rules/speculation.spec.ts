import { describe, expect, it } from 'vitest'
import { mayExtend, nextWindow, openAhead, speculationChain, type OpenCandidate } from './speculation.ts'

const c = (seq: number, parent: string, inFlight = true): OpenCandidate => ({ seq, commit: `c${seq}`, parent, inFlight })

describe('speculation', () => {
  it('finds the open candidates ahead of the best, through open parents only', () => {
    const open = [c(1, 'best'), c(2, 'c1'), c(3, 'c2', false), c(4, 'dead'), c(5, 'c4')]
    expect([...openAhead('best', open)].sort()).toEqual(['c1', 'c2', 'c3'])
    expect(openAhead('best', [])).toEqual(new Set())
  })

  it('follows the chain in flight from the best, preferring the candidate that has others on it', () => {
    const open = [c(1, 'best'), c(2, 'best'), c(3, 'c2'), c(4, 'c3', false)]
    expect(speculationChain('best', open).map((x) => x.seq)).toEqual([2, 3])
    // Nothing in flight on the best: no chain, whatever waits further down.
    expect(speculationChain('best', [c(1, 'best', false), c(2, 'c1')])).toEqual([])
    // Queue order decides between equals.
    expect(speculationChain('best', [c(7, 'best'), c(5, 'best')]).map((x) => x.seq)).toEqual([7])
  })

  it('extends a chain only while it is within the window', () => {
    expect(mayExtend([], 3)).toBe(false)
    expect(mayExtend([c(1, 'best')], 1)).toBe(true)
    expect(mayExtend([c(1, 'best'), c(2, 'c1')], 1)).toBe(false)
    expect(mayExtend([c(1, 'best')], 0)).toBe(false)
  })

  it('grows the window by one on a merge, up to the cause\'s, and halves it on a rejection', () => {
    expect(nextWindow(1, 'merged', 4)).toBe(2)
    expect(nextWindow(4, 'merged', 4)).toBe(4)
    expect(nextWindow(4, 'rejected', 4)).toBe(2)
    expect(nextWindow(1, 'rejected', 4)).toBe(0)
    expect(nextWindow(0, 'merged', 4)).toBe(1)
  })
})
