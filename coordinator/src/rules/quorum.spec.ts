import { describe, expect, it } from 'vitest'
import type { JobRole } from '../store/index.ts'
import { countingAttestations, countingJobs, fullWith, openForCounting, pickShadow, required, shadowSlot, tally, type RoundFacts, type RoundJob } from './quorum.ts'

const job = (id: number, verifier: string, state: RoundJob['state'] = 'leased'): RoundJob => ({ id, verifier, state })
const roles = (...entries: Array<[number, JobRole]>): Map<number, JobRole> => new Map(entries)
const trusted = (...keys: string[]) => (v: string): boolean => keys.includes(v)
const round = (jobs: RoundJob[], r = roles(), counts = trusted('a', 'b', 'c')): RoundFacts => ({ authors: ['sub'], jobs, roles: r, counts })

describe('counting jobs and attestations', () => {
  it('leave out expired jobs, shadow jobs and keys that do not count now', () => {
    const jobs = [job(1, 'a'), job(2, 'b', 'expired'), job(3, 'newbie'), job(4, 'c', 'done'), job(5, 'a')]
    expect(countingJobs(jobs, roles([5, 'shadow']), trusted('a', 'b', 'c')).map((j) => j.id)).toEqual([1, 4])
    const attestations = [{ job_id: 1, verifier: 'a' }, { job_id: 3, verifier: 'newbie' }, { job_id: 5, verifier: 'a' }]
    expect(countingAttestations(attestations, roles([5, 'shadow']), trusted('a'))).toEqual([{ job_id: 1, verifier: 'a' }])
  })
})

describe('what a round needs', () => {
  it('the quorum, and one more while a counting spot check stands', () => {
    expect(required(2, [job(1, 'a')], roles())).toBe(2)
    expect(required(2, [job(1, 'a')], roles([1, 'spot-check']))).toBe(3)
    // A spot check that no longer counts (its key was demoted) adds nothing.
    expect(required(2, countingJobs([job(1, 'x')], roles([1, 'spot-check']), trusted('a')), roles([1, 'spot-check']))).toBe(2)
  })

  it('a round is open to a counting verifier until it has its quorum of jobs, never to the submitter or twice', () => {
    expect(openForCounting(round([]), 'a', 1)).toBe(true)
    expect(openForCounting(round([job(1, 'a')]), 'b', 1)).toBe(false)
    expect(openForCounting(round([job(1, 'a')]), 'b', 2)).toBe(true)
    expect(openForCounting(round([job(1, 'a')]), 'a', 2)).toBe(false)
    expect(openForCounting(round([]), 'sub', 2)).toBe(false)
    // A shadow job or a job by a key that no longer counts leaves the seat free.
    expect(openForCounting(round([job(1, 'a')], roles([1, 'shadow'])), 'b', 1)).toBe(true)
    expect(openForCounting(round([job(1, 'x')]), 'b', 1)).toBe(true)
    // A spot check asks for one more.
    expect(openForCounting(round([job(1, 'a')], roles([1, 'spot-check'])), 'b', 1)).toBe(true)
    expect(openForCounting(round([job(1, 'a'), job(2, 'b')], roles([1, 'spot-check'])), 'c', 1)).toBe(false)
  })

  it('the round is full (the candidate moves to verifying) when the new job completes the quorum', () => {
    expect(fullWith(round([]), 1, false)).toBe(true)
    expect(fullWith(round([]), 2, false)).toBe(false)
    expect(fullWith(round([job(1, 'a')]), 2, false)).toBe(true)
    // The new job itself a spot check: one more is needed.
    expect(fullWith(round([]), 1, true)).toBe(false)
    expect(fullWith(round([job(1, 'a')]), 1, true)).toBe(true)
    // A standing spot check and a new one still ask for just one more.
    expect(fullWith(round([job(1, 'a')], roles([1, 'spot-check'])), 1, true)).toBe(true)
    expect(fullWith(round([job(1, 'a')], roles([1, 'spot-check'])), 1, false)).toBe(true)
  })
})

describe('shadow jobs', () => {
  it('a key on probation shadows a round, at most shadowsPerRound times, never its own candidate or twice', () => {
    expect(shadowSlot(round([job(1, 'a')]), 'newbie', 2)).toEqual({ alongside: true })
    expect(shadowSlot(round([]), 'newbie', 2)).toEqual({ alongside: false })
    expect(shadowSlot(round([job(1, 'x')]), 'newbie', 2)).toEqual({ alongside: false })
    expect(shadowSlot(round([]), 'sub', 2)).toBeNull()
    expect(shadowSlot(round([job(1, 'newbie')], roles([1, 'shadow'])), 'newbie', 2)).toBeNull()
    expect(shadowSlot(round([job(1, 'n1'), job(2, 'n2')], roles([1, 'shadow'], [2, 'shadow'])), 'n3', 2)).toBeNull()
    expect(shadowSlot(round([job(1, 'n1'), job(2, 'a')], roles([1, 'shadow'])), 'n3', 2)).toEqual({ alongside: true })
  })

  it('picks the first round a counting verifier is on, else the first one', () => {
    expect(pickShadow([{ seq: 1, alongside: false }, { seq: 2, alongside: true }, { seq: 3, alongside: true }])?.seq).toBe(2)
    expect(pickShadow([{ seq: 1, alongside: false }, { seq: 2, alongside: false }])?.seq).toBe(1)
    expect(pickShadow([])).toBeUndefined()
  })
})

describe('tally after an attestation', () => {
  it('complete once the counting attestations reach what the round needs', () => {
    expect(tally(1, [job(1, 'a', 'done')], roles(), trusted('a'), 1, 1)).toEqual({ complete: true })
    expect(tally(2, [job(1, 'a', 'done'), job(2, 'b', 'done')], roles([2, 'spot-check']), trusted('a', 'b'), 1, 1)).toEqual({ complete: true })
  })

  it('waiting, with the count in words and whether a counting job is still out', () => {
    expect(tally(1, [job(1, 'a', 'done'), job(2, 'b')], roles(), trusted('a', 'b'), 2, 1)).toEqual({ complete: false, leased: true, reason: '1 of 2 attestations in round 1' })
    expect(tally(1, [job(1, 'a', 'done'), job(2, 'b', 'done')], roles([2, 'spot-check']), trusted('a', 'b'), 1, 2)).toEqual({ complete: false, leased: false, reason: '1 of 2 attestations in round 2' })
    // Only a shadow is still out: nothing to wait for, the candidate goes back to the queue.
    expect(tally(1, [job(1, 'a', 'done'), job(2, 'n')], roles([2, 'shadow']), trusted('a'), 2, 1)).toEqual({ complete: false, leased: false, reason: '1 of 2 attestations in round 1' })
  })
})
