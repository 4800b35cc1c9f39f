import { randomInt } from 'node:crypto'
import type { Store } from './store/index.ts'

/** Pool size per best commit, in multiples of the cause's trials. */
const POOL_FACTOR = 4

export function drawSeeds (count: number): number[] {
  return Array.from({ length: count }, () => randomInt(0, 2 ** 31 - 1))
}

/**
 * Seeds for one verification round. The pool is drawn by the coordinator with a CSPRNG
 * once per best commit, after the first receipt on it, and rounds take its seeds in
 * the pool's (random, never published) order: every candidate's first round on one best
 * has the same seeds, so a verifier's cached or warmed baselines (per best and seed)
 * serve every job; `exclude` moves a candidate's later rounds on to seeds it has not been
 * measured on yet.
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
  return available.slice(0, trials)
}

/** The seeds a new candidate's first round on `best` will use: what a verifier warms. */
export function nextRound (store: Pick<Store, 'seedPool' | 'setSeedPool'>, best: string, trials: number): number[] {
  return drawRound(store, best, trials)
}
