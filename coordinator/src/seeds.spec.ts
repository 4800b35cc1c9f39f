import { describe, expect, it } from 'vitest'
import { drawRound, drawSeeds, runHolders, warmByReuse, warmRound } from './seeds.ts'
import type { AttestationRow, CandidateRow, JobRow } from './store/index.ts'

/** One job on a candidate, as `pools` takes it: its verifier, its state, and (attested) each seed with whether its candidate run gave a metric. */
interface GivenJob { verifier: string, state?: 'leased' | 'done' | 'expired', until?: number, role?: 'shadow', trials?: Array<[number, boolean]> }

/**
 * The seed pools a store keeps per best commit, in a map; `verified` the rounds of the candidates
 * by commit; `jobs` each candidate's jobs by commit (attested ones with their trials, at 100).
 */
const pools = (verified: Record<string, number[][]> = {}, jobs: Record<string, GivenJob[]> = {}) => {
  const map = new Map<string, number[]>()
  const commits = Object.keys(verified)
  const of = (seq: number): GivenJob[] => jobs[commits[seq] as string] ?? []
  return {
    map,
    seedPool: (best: string) => map.get(best),
    setSeedPool: (best: string, seeds: number[]) => { map.set(best, seeds) },
    candidateByCommit: (commit: string) => verified[commit] === undefined ? undefined : { seq: commits.indexOf(commit), seeds: verified[commit] } as unknown as CandidateRow,
    jobsFor: (seq: number) => of(seq).map((j, id) => ({ id, verifier: j.verifier, state: j.state ?? 'done', lease_expires_at: j.until ?? 0 }) as unknown as JobRow),
    jobRoles: (seq: number) => new Map(of(seq).flatMap((j, id) => j.role === undefined ? [] : [[id, j.role] as const])),
    attestationsFor: (seq: number) => of(seq).flatMap((j, id) => j.trials === undefined ? [] : [{
      job_id: id, verifier: j.verifier, received_at: 100, body: { trials: j.trials.map(([seed, ok]) => ({ seed, candidate: ok ? 1 : null })) }
    } as unknown as AttestationRow])
  }
}
/** Every key counts as a verifier. */
const all = (): boolean => true
const THREE = { trials: 3, reuseCandidateRuns: false, quorum: 1, splitRounds: false }
const REUSE = { ...THREE, reuseCandidateRuns: true }
/** THREE where a first round may end with an early acceptance (rules/accept-early.ts). */
const ACCEPTING = { ...THREE, sequential: { noise: 0.014, futility: 0.01, accept: 0.02 } }

describe('seeds', () => {
  it('draws non-negative 31-bit integers', () => {
    const seeds = drawSeeds(50)
    expect(seeds).toHaveLength(50)
    expect(seeds.every((s) => Number.isInteger(s) && s >= 0 && s < 2 ** 31)).toBe(true)
  })

  it('draws a round from a pool of four times the trials kept per best, so rounds on one best share seeds', () => {
    const store = pools()
    const first = drawRound(store, 'best', THREE)
    expect(first).toHaveLength(3)
    expect(new Set(first).size).toBe(3)
    const pool = store.map.get('best')!
    expect(pool).toHaveLength(12)
    expect(first.every((s) => pool.includes(s))).toBe(true)
    expect(drawRound(store, 'best', THREE).every((s) => pool.includes(s))).toBe(true)
    drawRound(store, 'other', THREE)
    expect(store.map.get('other')).not.toEqual(pool)
  })

  it('takes the pool in its order, so every first round on one best has the seeds a verifier warmed', () => {
    const store = pools()
    const warmed = warmRound(store, 'best', THREE, 'allowlist')
    expect(drawRound(store, 'best', THREE)).toEqual(warmed)
    expect(drawRound(store, 'best', THREE)).toEqual(store.map.get('best')!.slice(0, 3))
    const second = drawRound(store, 'best', THREE, warmed)
    expect(second).toEqual(store.map.get('best')!.slice(3, 6))
  })

  it('a later round avoids the seeds given, growing the pool when too few are left', () => {
    const store = pools()
    store.setSeedPool('best', [1, 2, 3, 4])
    expect(drawRound(store, 'best', { trials: 2, reuseCandidateRuns: false }, [1, 2]).sort()).toEqual([3, 4])
    const grown = drawRound(store, 'best', THREE, [1, 2, 3])
    expect(grown).toContain(4)
    expect(grown.some((s) => [1, 2, 3].includes(s))).toBe(false)
    expect(store.map.get('best')).toHaveLength(6)
  })

  it('with reuseCandidateRuns, a commit that was a candidate offers first the seeds it was verified on, then fresh ones', () => {
    const store = pools({ merged: [[5, 6, 7], [8, 9, 5]] })
    expect(warmRound(store, 'merged', REUSE, 'allowlist')).toEqual([5, 6, 7])
    const pool = store.map.get('merged')!
    expect(pool.slice(0, 5)).toEqual([5, 6, 7, 8, 9])
    expect(pool).toHaveLength(12)
    expect(new Set(pool).size).toBe(12)
    expect(drawRound(store, 'merged', REUSE, [5, 6, 7])).toEqual([8, 9, pool[5]])
  })

  it('without it, or on a commit that was never a candidate (the cause\'s first best, a program update), the pool is all fresh', () => {
    const off = pools({ merged: [[5, 6, 7]] })
    expect(drawRound(off, 'merged', THREE)).not.toEqual([5, 6, 7])
    const never = pools()
    expect(drawRound(never, 'root', REUSE)).toHaveLength(3)
    expect(never.map.get('root')).toHaveLength(12)
  })

  it('where a first round may end with an early acceptance, warms only the seeds before its first look: the job runs the rest when it reaches them', () => {
    const store = pools()
    const warmed = warmRound(store, 'best', ACCEPTING, 'allowlist')
    expect(warmed).toEqual(drawRound(store, 'best', ACCEPTING).slice(0, 2))
    // The same cause in open mode, with a quorum or split rounds: no early acceptance, every seed warmed.
    expect(warmRound(store, 'best', ACCEPTING, 'open')).toHaveLength(3)
    expect(warmRound(store, 'best', { ...ACCEPTING, quorum: 2 }, 'allowlist')).toHaveLength(3)
    expect(warmRound(store, 'best', { ...ACCEPTING, splitRounds: true }, 'allowlist')).toHaveLength(3)
    // A merged candidate accepted after two pairs: both its runs serve as baselines, nothing is left to warm.
    const reused = pools({ merged: [[5, 6, 7]] })
    expect(warmRound(reused, 'merged', { ...ACCEPTING, reuseCandidateRuns: true }, 'allowlist')).toEqual([5, 6])
  })
  it('with reuseCandidateRuns, names as warm the verifiers whose attested runs of the merged candidate cover the seeds warmRound names', () => {
    const jobs = {
      merged: [
        { verifier: 'whole', trials: [[5, true], [6, true], [7, true]] as Array<[number, boolean]> },
        { verifier: 'two pairs', trials: [[5, true], [6, true]] as Array<[number, boolean]> },
        { verifier: 'failed run', trials: [[5, true], [6, true], [7, false]] as Array<[number, boolean]> }
      ]
    }
    expect(warmByReuse(pools({ merged: [[5, 6, 7]] }, jobs), 'merged', REUSE, 'allowlist', all)).toEqual(['whole'])
    // An early acceptance's first look needs the two seeds before it only.
    expect(warmByReuse(pools({ merged: [[5, 6, 7]] }, jobs), 'merged', { ...ACCEPTING, reuseCandidateRuns: true }, 'allowlist', all)).toEqual(['whole', 'two pairs', 'failed run'])
    // Without reuse nobody keeps candidate runs as baselines; a best that was never a candidate has none.
    expect(warmByReuse(pools({ merged: [[5, 6, 7]] }, jobs), 'merged', THREE, 'allowlist', all)).toEqual([])
    expect(warmByReuse(pools({}, jobs), 'root', REUSE, 'allowlist', all)).toEqual([])
  })

  it('runHolders: a live lease holds the runs to come, a lease run out and a shadow job hold none', () => {
    const jobs: Record<string, GivenJob[]> = {
      ahead: [
        { verifier: 'measuring', state: 'leased', until: 200 },
        { verifier: 'gone', state: 'leased', until: 50 },
        { verifier: 'expired', state: 'expired' },
        { verifier: 'shadow', role: 'shadow', trials: [[5, true], [6, true], [7, true]] },
        { verifier: 'done', trials: [[5, true], [6, true], [7, true]] }
      ]
    }
    expect(runHolders(pools({ ahead: [[5, 6, 7]] }, jobs), 'ahead', REUSE, 'allowlist', 100, all)).toEqual([
      { verifier: 'measuring', live: true },
      { verifier: 'done', live: false, attestedAt: 100 }
    ])
    expect(warmByReuse(pools({ ahead: [[5, 6, 7]] }, jobs), 'ahead', REUSE, 'allowlist', all)).toEqual(['done'])
    // A key that no longer counts (removed from the allowlist) holds nothing.
    expect(runHolders(pools({ ahead: [[5, 6, 7]] }, jobs), 'ahead', REUSE, 'allowlist', 100, (key) => key !== 'done')).toEqual([{ verifier: 'measuring', live: true }])
  })
})
