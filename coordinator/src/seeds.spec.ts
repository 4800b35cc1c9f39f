import { describe, expect, it } from 'vitest'
import { drawRound, drawSeeds, nextRound } from './seeds.ts'

/** The seed pools a store keeps per best commit, in a map. */
const pools = () => {
  const map = new Map<string, number[]>()
  return { map, seedPool: (best: string) => map.get(best), setSeedPool: (best: string, seeds: number[]) => { map.set(best, seeds) } }
}

describe('seeds', () => {
  it('draws non-negative 31-bit integers', () => {
    const seeds = drawSeeds(50)
    expect(seeds).toHaveLength(50)
    expect(seeds.every((s) => Number.isInteger(s) && s >= 0 && s < 2 ** 31)).toBe(true)
  })

  it('draws a round from a pool of four times the trials kept per best, so rounds on one best share seeds', () => {
    const store = pools()
    const first = drawRound(store, 'best', 3)
    expect(first).toHaveLength(3)
    expect(new Set(first).size).toBe(3)
    const pool = store.map.get('best')!
    expect(pool).toHaveLength(12)
    expect(first.every((s) => pool.includes(s))).toBe(true)
    expect(drawRound(store, 'best', 3).every((s) => pool.includes(s))).toBe(true)
    drawRound(store, 'other', 3)
    expect(store.map.get('other')).not.toEqual(pool)
  })

  it('takes the pool in its order, so every first round on one best has the seeds a verifier warmed', () => {
    const store = pools()
    const warmed = nextRound(store, 'best', 3)
    expect(drawRound(store, 'best', 3)).toEqual(warmed)
    expect(drawRound(store, 'best', 3)).toEqual(store.map.get('best')!.slice(0, 3))
    const second = drawRound(store, 'best', 3, warmed)
    expect(second).toEqual(store.map.get('best')!.slice(3, 6))
  })

  it('a later round avoids the seeds given, growing the pool when too few are left', () => {
    const store = pools()
    store.setSeedPool('best', [1, 2, 3, 4])
    expect(drawRound(store, 'best', 2, [1, 2]).sort()).toEqual([3, 4])
    const grown = drawRound(store, 'best', 3, [1, 2, 3])
    expect(grown).toContain(4)
    expect(grown.some((s) => [1, 2, 3].includes(s))).toBe(false)
    expect(store.map.get('best')).toHaveLength(6)
  })
})
