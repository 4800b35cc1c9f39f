import { randomInt } from 'node:crypto'
import type { Store } from './store/index.ts'

/** Pool size per best commit, in multiples of the cause's trials. */
const POOL_FACTOR = 4

export function drawSeeds (count: number): number[] {
  return Array.from({ length: count }, () => randomInt(0, 2 ** 31 - 1))
}

/**
 * Seeds for one verification round, drawn by the coordinator with a CSPRNG after the
 * receipt exists. They come from a pool kept per best commit, so a verifier's cached
 * baseline runs (per best and seed) are reused across candidates; `exclude` keeps a
 * candidate's later rounds on seeds it has not been measured on yet.
 */
export function drawRound (store: Pick<Store, 'seedPool' | 'setSeedPool'>, best: string, trials: number, exclude: number[] = []): number[] {
  let pool = store.seedPool(best)
  if (pool === undefined) {
    pool = drawSeeds(trials * POOL_FACTOR)
    store.setSeedPool(best, pool)
  }
  let available = pool.filter((s) => !exclude.includes(s))
  if (available.length < trials) {
    pool = [...pool, ...drawSeeds(trials - available.length)]
    store.setSeedPool(best, pool)
    available = pool.filter((s) => !exclude.includes(s))
  }
  const round: number[] = []
  while (round.length < trials) round.push(...available.splice(randomInt(0, available.length), 1))
  return round
}
