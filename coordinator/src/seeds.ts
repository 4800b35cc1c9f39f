import { randomInt } from 'node:crypto'
import { FIRST_ACCEPT_LOOK, type Manifest } from '@autoresearch/protocol'
import { mayAcceptEarly } from './rules/accept-early.ts'
import type { Store } from './store/index.ts'

/** Pool size per best commit, in multiples of the cause's trials. */
const POOL_FACTOR = 4

/** What a round's seeds depend on in the manifest. */
export type PoolRule = Pick<Manifest['verification'], 'trials' | 'reuseCandidateRuns'>

export type SeedStore = Pick<Store, 'seedPool' | 'setSeedPool' | 'candidateByCommit'>

export function drawSeeds (count: number): number[] {
  return Array.from({ length: count }, () => randomInt(0, 2 ** 31 - 1))
}

/**
 * The pool of a commit no round has drawn on yet: CSPRNG seeds, after the first receipt on
 * it. With `reuseCandidateRuns`, a commit that was a candidate first offers the seeds it was
 * verified on (every round, in order), whose runs its verifiers kept as baselines of it; the
 * pool is topped up to its size with fresh seeds.
 */
function firstPool (store: SeedStore, best: string, rule: PoolRule): number[] {
  const size = rule.trials * POOL_FACTOR
  const verified = rule.reuseCandidateRuns ? [...new Set(store.candidateByCommit(best)?.seeds.flat() ?? [])] : []
  return [...verified, ...drawSeeds(Math.max(0, size - verified.length))]
}

/**
 * Seeds for one verification round. The pool is kept per best commit, and rounds take its
 * seeds in the pool's (never published) order: every candidate's first round on one best
 * has the same seeds, so a verifier's cached or warmed baselines (per best and seed) serve
 * every job; `exclude` moves a candidate's later rounds on to seeds it has not been
 * measured on yet.
 */
export function drawRound (store: SeedStore, best: string, rule: PoolRule, exclude: number[] = []): number[] {
  const { trials } = rule
  let pool = store.seedPool(best)
  if (pool === undefined) {
    pool = firstPool(store, best, rule)
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

/**
 * What a verifier warms on `best`: the seeds of a new candidate's first round there that its job
 * surely runs. Where that job may end with an early acceptance (rules/accept-early.ts), a winner
 * that clears the first look never runs the pairs after FIRST_ACCEPT_LOOK and a loser stops
 * sooner still, so a baseline warmed for them was mostly never used (one run per merge on the
 * 1-s race, docs/benchmarks.md): the job that reaches them runs them. Else every pair of a
 * winner runs, and so is every seed warmed.
 */
export function warmRound (store: SeedStore, best: string, verification: PoolRule & Pick<Manifest['verification'], 'sequential' | 'quorum' | 'splitRounds'>, mode: 'allowlist' | 'open'): number[] {
  const round = drawRound(store, best, verification)
  return mayAcceptEarly(mode, verification, { round: 1, role: undefined }) ? round.slice(0, FIRST_ACCEPT_LOOK) : round
}
