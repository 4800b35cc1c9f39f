import { randomInt } from 'node:crypto'
import { FIRST_ACCEPT_LOOK, type Manifest } from '@autoresearch/protocol'
import { mayAcceptEarly } from './rules/accept-early.ts'
import type { HolderJob } from './rules/holder.ts'
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
export function warmRound (store: SeedStore, best: string, verification: WarmRule, mode: 'allowlist' | 'open'): number[] {
  const round = drawRound(store, best, verification)
  return mayAcceptEarly(mode, verification, { round: 1, role: undefined }) ? round.slice(0, FIRST_ACCEPT_LOOK) : round
}

/** What `warmRound` depends on in the manifest. */
export type WarmRule = PoolRule & Pick<Manifest['verification'], 'sequential' | 'quorum' | 'splitRounds'>

/** What `runHolders` reads of the store: the candidate a commit was, its jobs, their roles and attestations. */
export type HolderStore = SeedStore & Pick<Store, 'attestationsFor' | 'jobsFor' | 'jobRoles'>

/**
 * The verifiers that hold `commit`'s runs as its baselines (`reuseCandidateRuns`: a verifier keeps
 * its runs of a candidate as that commit's): each counting job on the candidate the commit was,
 * live (it holds them once done) or attested with a candidate figure on every seed `warmRound`
 * names, by a key that `counts` as a verifier now. One reading for the warm roster (`warmByReuse`) and for the rule that lets work wait for
 * its holder (rules/holder.ts, verification.ts).
 */
export function runHolders (store: HolderStore, commit: string, verification: WarmRule, mode: 'allowlist' | 'open', now: number, counts: (verifier: string) => boolean): HolderJob[] {
  if (verification.reuseCandidateRuns !== true) return []
  const measured = store.candidateByCommit(commit)
  if (measured === undefined) return []
  const needed = warmRound(store, commit, verification, mode)
  const attested = new Map(store.attestationsFor(measured.seq).map((a) => [a.job_id, a]))
  const roles = store.jobRoles(measured.seq)
  // A key removed from the allowlist since, or no longer trusted, holds nothing.
  return store.jobsFor(measured.seq).filter((j) => roles.get(j.id) !== 'shadow' && counts(j.verifier)).flatMap((j): HolderJob[] => {
    if (j.state === 'leased') return j.lease_expires_at >= now ? [{ verifier: j.verifier, live: true }] : []
    const a = attested.get(j.id)
    if (a === undefined) return []
    const ran = new Set(a.body.trials.filter((t) => t.candidate !== null).map((t) => t.seed))
    return needed.every((seed) => ran.has(seed)) ? [{ verifier: j.verifier, live: false, attestedAt: a.received_at }] : []
  })
}

/**
 * The verifiers already warm on `best` without a warm-up: those holding its runs, done. Counted as
 * warm (warm-roster.ts), they spare another verifier warming the same seeds: with two one-slot
 * verifiers the other one warmed after most merges, a run a merge (docs/benchmarks.md).
 */
export function warmByReuse (store: HolderStore, best: string, verification: WarmRule, mode: 'allowlist' | 'open', counts: (verifier: string) => boolean): string[] {
  return [...new Set(runHolders(store, best, verification, mode, Date.now(), counts).filter((h) => !h.live).map((h) => h.verifier))]
}
