import { describe, expect, it } from 'vitest'
import type { Store } from '../coordinator/src/store/index.ts'
import { membersOf } from '../coordinator/src/group-members.ts'
import { simulate, VARIANTS, type SimOptions, type SimRow } from '../bench/lib/sim/simulation.ts'
import { conflictChance } from '../bench/lib/sim/model.ts'

// A generous p so that two simulated hours of a few volunteers see merges; no timing is asserted.
const tiny: Omit<SimOptions, 'volunteers'> = { hours: 2, seed: 7, p: 0.3, c: 0.1, gainMean: 3, noise: 0.01, runSeconds: 300, trials: 3, maxEvents: 100_000 }

describe('the discrete-event simulation (npm run bench -- simulate)', () => {
  it('with reuse, a merged candidate\'s pool begins with the seeds it was verified on, and more baselines come from the cache', () => {
    const pools = {} as Record<'now' | 'reused', { led: number, merged: number, hitsPerJob: number }>
    for (const variant of ['now', 'reused'] as const) {
      let led = 0
      let merged = 0
      const row = simulate({ ...tiny, hours: 6, volunteers: 4, features: VARIANTS[variant] }, (s) => {
        for (const c of s.candidates().filter((c) => c.state === 'merged')) {
          const pool = s.seedPool(c.commit_oid)
          if (pool === undefined) continue
          merged++
          const verified = [...new Set(c.seeds.flat())]
          if (verified.every((seed, i) => pool[i] === seed)) led++
        }
      })
      pools[variant] = { led, merged, hitsPerJob: row.cacheHits / row.jobs }
    }
    expect(pools.reused.merged).toBeGreaterThan(2)
    expect(pools.reused.led).toBe(pools.reused.merged)
    expect(pools.now.led).toBe(0)
    expect(pools.reused.hitsPerJob).toBeGreaterThan(pools.now.hitsPerJob)
  })

  it('drives the real coordinator: merges happen, every submission is accounted for, the real verdicts are stored', () => {
    for (const [variant, volunteers] of [['serial', 1], ['serial', 4], ['whole', 4], ['now', 4], ['helping', 4], ['reused', 4]] as const) {
      let store: Store | undefined
      let checked = false
      const before = Date.now()
      const row = simulate({ ...tiny, volunteers, features: VARIANTS[variant] }, (s) => {
        store = s
        const candidates = s.candidates()
        const merged = candidates.filter((c) => c.state === 'merged')
        const merges = s.standingMerges()
        // Every merge row is a merged candidate, with the verdict attest() stored: the paired test passed on the cause's trials.
        expect(merges.map((m) => m.candidate_seq).sort()).toEqual(merged.map((c) => c.seq).sort())
        for (const c of merged) {
          expect(c.verdict?.state).toBe('accepted')
          expect(c.verdict?.test?.passed).toBe(true)
          // A job the sequential rule stops is a rejection: a merge has every pair of its rounds.
          expect(c.verdict?.trials.length).toBe(3 * c.rounds)
        }
        for (const c of candidates.filter((c) => c.state === 'rejected')) expect(c.verdict?.state).toBe('rejected')
        // A rebase is a new candidate pointing at its origin, verified on the best of its time.
        for (const c of candidates.filter((c) => c.origin_seq !== null)) expect(s.candidate(c.origin_seq as number)?.state).toBe('rebased')
        checked = true
      })
      expect(checked).toBe(true)
      expect(store).toBeDefined()
      // The process clock is the real one again.
      expect(Math.abs(Date.now() - before)).toBeLessThan(60_000)
      expect(row.volunteers).toBe(volunteers)
      expect(row.verifiers).toBe(1)
      expect(row.hours).toBe(2)
      expect(row.capped).toBe(false)
      expect(row.submitted).toBe(row.merged + row.rejected + row.stale + row.queueAtEnd)
      // A merged group is one merge step carrying two or more submissions.
      expect(row.merged).toBeGreaterThanOrEqual(row.merges)
      if (variant === 'serial') expect([row.merged, row.groups]).toEqual([row.merges, 0])
      expect(row.mergedPerHour).toBeCloseTo(row.merged / 2, 2)
      expect(row.mergesPerHour).toBeCloseTo(row.merges / 2, 2)
      // The model's truth: merged submissions below the margin are among the merged, and no merge moves no truth.
      expect(row.mergedBelowMargin).toBeLessThanOrEqual(row.merged)
      if (row.merges === 0) expect(row.trueGainPerHour).toBe(0)
      else expect(row.trueGainPerHour).toBeGreaterThan(0)
      expect(row.verifyShare).toBeGreaterThanOrEqual(0)
      expect(row.verifyShare).toBeLessThanOrEqual(1)
      expect(row.verdicts).toBeGreaterThanOrEqual(row.merged + row.rejected)
      expect(row.workerRuns).toBeGreaterThan(0)
      expect(row.stoppedEarly).toBeLessThanOrEqual(row.jobs)
      expect(row.warmRuns).toBeLessThanOrEqual(row.verifierRuns)
      if (variant === 'serial') expect([row.stoppedEarly, row.warmRuns]).toEqual([0, 0])
      if (variant !== 'helping') expect(row.helperJobs).toBe(0)
      expect(row.heldForHolder).toBe(0)
      if (volunteers === 4) {
        expect(row.merges).toBeGreaterThan(0)
        expect(row.jobs).toBeGreaterThan(0)
        expect(row.verifyShare).toBeGreaterThan(0)
      }
    }
  })

  it('with every saving and two verifiers, work measured against a commit is held for the verifier that holds its runs, and the accounting holds', () => {
    const [every, accepting] = (['every', 'accepting'] as const).map((variant) => simulate({ ...tiny, hours: 6, volunteers: 8, features: VARIANTS[variant] })) as [SimRow, SimRow]
    for (const row of [every, accepting]) {
      expect(row.verifiers).toBe(2)
      expect(row.merges).toBeGreaterThan(2)
      expect(row.submitted).toBe(row.merged + row.rejected + row.stale + row.queueAtEnd)
    }
    // Only reuse with whole rounds has runs a verifier holds for others' jobs (rules/holder.ts).
    expect(every.heldForHolder).toBeGreaterThan(0)
    expect(accepting.heldForHolder).toBe(0)
    expect(every.cacheHits / every.jobs).toBeGreaterThan(accepting.cacheHits / accepting.jobs)
  })

  it('with early acceptance some merges end after two pairs of three, each saying so, and every merge passed its test', () => {
    let early = 0
    let merges = 0
    const row = simulate({ ...tiny, hours: 6, volunteers: 4, features: VARIANTS.accepting }, (s) => {
      for (const c of s.candidates().filter((c) => c.state === 'merged')) {
        merges++
        expect(c.verdict?.test?.passed).toBe(true)
        if ((c.verdict?.trials.length ?? 0) < 3 * c.rounds) {
          early++
          expect(c.verdict?.reason).toMatch(/\(accepted early: after 2 of 3 pairs/)
          // Accepted on its look, at accept / (trials − 2) (protocol's sequential.ts).
          expect(c.verdict?.test?.confidence).toBe(0.98)
        } else {
          // Round 1 keeps half of what early acceptance leaves; rounds 2 and 3 a quarter each (protocol's spending.ts).
          expect(c.verdict?.test?.confidence).toBe(c.rounds === 1 ? 0.985 : 0.9925)
        }
      }
    })
    expect(merges).toBeGreaterThan(2)
    expect(early).toBeGreaterThan(0)
    expect(row.submitted).toBe(row.merged + row.rejected + row.stale + row.queueAtEnd)
  })

  it('a pass on the best waits for a larger merge group in flight there, and merges on its own trials when that one does not', () => {
    let held = 0
    let mergedAfterWait = 0
    const row = simulate({ ...tiny, hours: 6, volunteers: 40, features: VARIANTS.whole }, (s) => {
      for (const c of s.candidates().filter((c) => c.verdict?.heldFor !== undefined)) {
        held++
        const group = s.candidate(c.verdict?.heldFor as number)
        // What it waited for carries more submissions (a merge group, or a coordinator rebase of one) and was verified on the same best.
        expect(group?.parent_oid).toBe(c.parent_oid)
        expect(membersOf(s, group as NonNullable<typeof group>).length).toBeGreaterThan(1)
        expect(['passed', 'rebased', 'stale', 'merged']).toContain(c.state)
        if (c.state === 'merged') {
          mergedAfterWait++
          expect(c.verdict?.reason).toMatch(/held while merge group #\d+ was verified there; merged when that one did not merge/)
          expect(group?.state).not.toBe('merged')
          expect(c.verdict?.test?.passed).toBe(true)
        }
      }
    })
    expect(held).toBeGreaterThan(0)
    // A group of passers seldom fails, so most waiting passes go on in the next group (as a
    // rebase) or go stale by conflict; carry-plan.spec.ts merges one whose group's lease ran out.
    expect(mergedAfterWait).toBeLessThanOrEqual(held)
    expect(row.submitted).toBe(row.merged + row.rejected + row.stale + row.queueAtEnd)
  })

  it('with jitter on the verifiers\' run times, the accounting still holds', () => {
    const row = simulate({ ...tiny, volunteers: 40, jitter: 0.02, features: VARIANTS.whole })
    expect(row.submitted).toBe(row.merged + row.rejected + row.stale + row.queueAtEnd)
    expect(row.merges).toBeGreaterThan(0)
  })

  it('with split rounds the pairs of a round go to several verifiers, and a merge still has every pair of its rounds', () => {
    const spread = { whole: 0, split: 0 }
    for (const variant of ['whole', 'now'] as const) {
      simulate({ ...tiny, volunteers: 12, features: VARIANTS[variant] }, (s) => {
        const candidates = s.candidates()
        for (const c of candidates) {
          const jobs = s.jobsFor(c.seq)
          if (jobs.some((j) => j.seeds.length < 3)) spread[variant === 'now' ? 'split' : 'whole']++
          if (c.state !== 'merged') continue
          expect(c.verdict?.trials.length).toBe(3 * c.rounds)
          // Each seed of each round measured once, in one job.
          expect(new Set(jobs.filter((j) => j.state === 'done').flatMap((j) => j.seeds.map((seed) => `${j.round}:${seed}`))).size).toBe(3 * c.rounds)
        }
      })
    }
    expect(spread.whole).toBe(0)
    expect(spread.split).toBeGreaterThan(0)
  })

  it('with speculation a candidate verified on top of another merges after it, against exactly that commit', () => {
    for (const variant of ['ahead', 'ahead-whole'] as const) {
      const row = simulate({ ...tiny, hours: 6, volunteers: 12, features: VARIANTS[variant] }, (s) => {
        const mergedAt = new Map(s.merges().map((m) => [m.commit_oid, m.merged_at]))
        const ahead = s.candidates().filter((c) => c.state === 'merged' && s.jobsFor(c.seq).some((j) => j.leased_at < (mergedAt.get(c.parent_oid) ?? 0)))
        expect(ahead.length).toBeGreaterThan(0)
        for (const c of ahead) {
          // Leased while its parent was a candidate under verification; every pair of its verdict measured against that parent, which merged first.
          expect(s.candidateByCommit(c.parent_oid)?.state).toBe('merged')
          expect(s.jobsFor(c.seq).filter((j) => j.state === 'done').every((j) => j.baseline_oid === c.parent_oid)).toBe(true)
          expect(c.verdict?.test?.passed).toBe(true)
          if (c.verdict?.passedOn !== undefined) expect(c.verdict.passedOn).toBe(c.parent_oid)
        }
      })
      expect(row.ahead).toBeGreaterThan(0)
      expect(row.promoted).toBeLessThanOrEqual(row.ahead)
      expect(row.merged + row.rejected + row.stale + row.queueAtEnd).toBe(row.submitted)
    }
    // Without speculation declared nothing is verified ahead.
    expect(simulate({ ...tiny, hours: 6, volunteers: 12, features: VARIANTS.now }).ahead).toBe(0)
  })

  it('with batches, candidates never verified alone merge as one group verified once, and every submission is accounted for', () => {
    for (const variant of ['batched', 'ahead-batched'] as const) {
      let batches = 0
      const row = simulate({ ...tiny, hours: 6, volunteers: 12, features: VARIANTS[variant] }, (s) => {
        for (const c of s.candidates().filter((x) => x.state === 'merged')) {
          const members = s.groupMembers(c.seq)
          // A batch: its members were never verified (no job, no verdict of their own); the group has every pair of its rounds.
          if (members.length < 2 || members.some((m) => s.jobsFor(m.seq).length > 0)) continue
          batches++
          expect(members.every((m) => m.verdict === null)).toBe(true)
          expect(c.verdict?.trials.length).toBe(3 * c.rounds)
        }
      })
      expect(batches).toBeGreaterThan(0)
      expect(row.merged).toBeGreaterThan(row.merges)
      expect(row.merged + row.rejected + row.stale + row.queueAtEnd).toBe(row.submitted)
    }
  })

  it('models conflicts per carry, or per change merged since the parent (--conflict-per change), and runs either way', () => {
    expect(conflictChance(0.1, 'carry', 24)).toBe(0.1)
    expect(conflictChance(0.1, 'change', 1)).toBeCloseTo(0.1)
    expect(conflictChance(0.1, 'change', 3)).toBeCloseTo(1 - 0.9 ** 3)
    // A carry always reconciles at least one change.
    expect(conflictChance(0.1, 'change', 0)).toBeCloseTo(0.1)
    const row = simulate({ ...tiny, conflictPer: 'change', volunteers: 4, features: VARIANTS.whole })
    expect(row.merged).toBeGreaterThan(0)
    expect(row.merged + row.rejected + row.stale + row.queueAtEnd).toBe(row.submitted)
  })
})
