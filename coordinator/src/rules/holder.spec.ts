import { describe, expect, it } from 'vitest'
import { HOLDER_GRACE_MS, heldForHolder, type HolderAsk, type HolderJob } from './holder.ts'

const ask = (requester: string, now: number, looks: Record<string, number> = {}, warm = false, deep = false, othersIdle = false): HolderAsk => ({ requester, now, warm, deep, othersIdle, lookedAt: (v) => looks[v] })

describe('heldForHolder', () => {
  it('holds a job back from another verifier while the holder is still measuring the commit, until its verdict', () => {
    const jobs: HolderJob[] = [{ verifier: 'K', live: true }]
    expect(heldForHolder(jobs, ask('V', 100))).toEqual({ until: Infinity, awaits: ['K'] })
  })

  it('gives it to the holder itself, and to a verifier warm on it', () => {
    expect(heldForHolder([{ verifier: 'K', live: true }], ask('K', 100))).toBeUndefined()
    expect(heldForHolder([{ verifier: 'K', live: false, attestedAt: 50 }], ask('K', 100))).toBeUndefined()
    expect(heldForHolder([{ verifier: 'K', live: true }], ask('V', 100, {}, true))).toBeUndefined()
  })

  it('after the holder attested, holds it back until the holder looks again, at most HOLDER_GRACE_MS', () => {
    const jobs: HolderJob[] = [{ verifier: 'K', live: false, attestedAt: 1000 }]
    expect(heldForHolder(jobs, ask('V', 1010, { K: 990 }))).toEqual({ until: 1000 + HOLDER_GRACE_MS, awaits: ['K'] })
    expect(heldForHolder(jobs, ask('V', 1010))).toEqual({ until: 1000 + HOLDER_GRACE_MS, awaits: ['K'] })
    // It looked since (and took a job, or had none it could take): the rest is anyone's.
    expect(heldForHolder(jobs, ask('V', 1010, { K: 1005 }))).toBeUndefined()
    // A holder gone away holds nothing past the grace.
    expect(heldForHolder(jobs, ask('V', 1000 + HOLDER_GRACE_MS, { K: 990 }))).toBeUndefined()
  })

  it('holds nothing back for a job that ran out, or where no verifier has measured the commit', () => {
    expect(heldForHolder([{ verifier: 'K', live: false }], ask('V', 100))).toBeUndefined()
    expect(heldForHolder([], ask('V', 100))).toBeUndefined()
  })

  it('with several holders, waits for the last one still coming, and any of their looks may end it', () => {
    const jobs: HolderJob[] = [{ verifier: 'K', live: false, attestedAt: 1000 }, { verifier: 'L', live: false, attestedAt: 2000 }]
    expect(heldForHolder(jobs, ask('V', 2010))).toEqual({ until: 2000 + HOLDER_GRACE_MS, awaits: ['K', 'L'] })
    expect(heldForHolder(jobs, ask('V', 2010, { K: 1500 }))).toEqual({ until: 2000 + HOLDER_GRACE_MS, awaits: ['L'] })
    // One still measuring the commit: until its verdict, and its look after it.
    expect(heldForHolder([...jobs, { verifier: 'M', live: true }], ask('V', 2010))).toEqual({ until: Infinity, awaits: ['K', 'L', 'M'] })
  })

  it('deeper than the chain\'s head, waits for no holder still measuring, only for one that attested', () => {
    const live: HolderJob = { verifier: 'K', live: true }
    const attested: HolderJob = { verifier: 'L', live: false, attestedAt: 1000 }
    expect(heldForHolder([live], ask('V', 1010, {}, false, true))).toBeUndefined()
    expect(heldForHolder([live, attested], ask('V', 1010, {}, false, true))).toEqual({ until: 1000 + HOLDER_GRACE_MS, awaits: ['L'] })
  })

  it('with another verifier waiting for work, waits for no holder still measuring, only for one that attested', () => {
    const live: HolderJob = { verifier: 'K', live: true }
    const attested: HolderJob = { verifier: 'L', live: false, attestedAt: 1000 }
    expect(heldForHolder([live], ask('V', 1010, {}, false, false, true))).toBeUndefined()
    expect(heldForHolder([live, attested], ask('V', 1010, {}, false, false, true))).toEqual({ until: 1000 + HOLDER_GRACE_MS, awaits: ['L'] })
  })
})
