import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { describeHardware, Identity, readFileAt, type Job } from '@autoresearch/protocol'
import { credits, HOLD_PATIENCE as PATIENCE, revertLatestMerge, type CoordinatorEvent } from 'autoresearch-coordinator'
import { Verifier } from 'autoresearch-verifier'
import { ROOT } from './processes.ts'
import { givenTrials, setConstant, TestNetwork } from './network.ts'

const NOISY = join(ROOT, 'tests', 'fixtures', 'noisy-cause')
const hardware = describeHardware()

/**
 * A merges on the first best; B, C (and D) pass against that same first best afterwards,
 * verified in parallel with A, so they cannot merge as they are.
 */
async function passedTogether (net: TestNetwork, extra: Array<(text: string) => string> = []): Promise<{ a: number, passers: number[], authors: Identity[] }> {
  const edits = [setConstant('SALT', 7), setConstant('QUALITY', 0.8), setConstant('BONUS', 0.3), ...extra]
  const authors = edits.map(() => Identity.generate())
  // Claims order the queue: A first, then B, C, D.
  const seqs: number[] = []
  for (const [i, edit] of edits.entries()) seqs.push(await net.submitEdit(authors[i] as Identity, edit, { claimedMetric: 1.0 + i / 10 }))
  const client = await net.client(net.verifierIdentity)
  const { causeId } = net.running.coordinator
  const jobs: Job[] = []
  for (const _ of seqs) jobs.push((await client.lease(net.verifierIdentity, causeId, hardware)).job as Job)
  expect(jobs.map((j) => j.candidateSeq)).toEqual(seqs)
  const attest = async (job: Job, gain: number): Promise<string> => (await client.attest(net.verifierIdentity, { causeId, jobId: job.jobId, candidate: job.candidate, baseline: job.baseline, trials: givenTrials(job, gain), hardware })).verdict.state
  expect(await attest(jobs[0] as Job, 0.1)).toBe('accepted')
  for (const [i, job] of jobs.slice(1).entries()) {
    expect(await attest(job, 0.2 + i / 100)).toBe('pending')
    // While a candidate on the same old best is still being verified, the passers wait for it.
    if (i < jobs.length - 2) expect(net.state(job.candidateSeq)).toBe('passed')
  }
  return { a: seqs[0] as number, passers: seqs.slice(1), authors: authors.slice(1) }
}

describe('merge groups', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  it('two compatible candidates that passed on the same best are verified once as a group and merged, each author credited its own gain', async () => {
    net = await TestNetwork.start(NOISY)
    const events: CoordinatorEvent[] = []
    net.running.coordinator.on('event', (e) => events.push(e))
    const { a, passers, authors } = await passedTogether(net)
    const store = net.running.coordinator.store
    // Formed once, as a merge group of both passers (not one `rebased` per member).
    expect(events.filter((e) => e.type === 'grouped')).toEqual([{ type: 'grouped', groupSeq: store.lastGroupOf(passers[0] as number), members: passers, kind: 'merge group' }])
    const aCommit = store.candidate(a)?.commit_oid as string
    expect(net.best).toBe(aCommit)
    const groupSeq = store.lastGroupOf(passers[0] as number) as number
    expect(store.groupMembers(groupSeq).map((m) => m.seq)).toEqual(passers)
    expect(store.candidate(groupSeq)).toMatchObject({ state: 'queued', parent_oid: aCommit })
    for (const seq of passers) expect(net.running.coordinator.candidateStatus(seq)).toMatchObject({ state: 'rebased', rebasedAs: groupSeq })
    // The members' changes stay off the public site while their group is verified.
    for (const seq of [...passers, groupSeq]) expect(await net.publicCandidate(seq)).toMatchObject({ diff: null, diffHidden: expect.any(String) })

    // One real verification of the group, in the sandbox.
    const verifier = new Verifier({ client: await net.client(net.verifierIdentity), identity: net.verifierIdentity, stateDir: join(net.scratch, 'v') })
    expect(await verifier.runOnce()).toBe(0)
    expect(store.jobsFor(groupSeq)).toHaveLength(1)
    expect(net.state(groupSeq)).toBe('merged')
    const group = store.candidate(groupSeq)
    expect(net.best).toBe(group?.commit_oid)
    // Every member's change and A's are in the new best.
    const text = await readFileAt(net.running.coordinator.paths.gitdir, net.best, 'train.py') as string
    expect(text).toMatch(/^QUALITY = 0\.8$/m)
    expect(text).toMatch(/^BONUS = 0\.3$/m)
    expect(text).toMatch(/^SALT = 7$/m)
    // Each author: one merge, credited the gain its own verification measured (0.2 and 0.21 on the old best), not the group's.
    const byKey = new Map(credits(store, net.running.coordinator.manifest).map((c) => [c.publicKey, c]))
    for (const [i, author] of authors.entries()) {
      expect(byKey.get(author.publicKey)).toMatchObject({ merges: 1, accepted: 1 })
      expect(byKey.get(author.publicKey)?.verifiedGain).toBeCloseTo(0.2 + i / 100 - 0.002, 6)
    }
    // The coordinator, whose key signs the group's receipt, is credited nothing.
    expect(byKey.get(net.running.coordinator.identity.publicKey)?.merges ?? 0).toBe(0)
    // Decided: the changes are public.
    for (const seq of [...passers, groupSeq]) expect((await net.publicCandidate(seq)).diff).not.toBeNull()
  })

  it('a group that fails is split in halves, not thrown away: a half of two is a new group, a half of one a plain rebase', async () => {
    net = await TestNetwork.start(NOISY)
    const { passers } = await passedTogether(net, [(text) => `${text}\n# a note\n`])
    const store = net.running.coordinator.store
    const groupSeq = store.lastGroupOf(passers[0] as number) as number
    expect(store.groupMembers(groupSeq).map((m) => m.seq)).toEqual(passers)
    const client = await net.client(net.verifierIdentity)
    const { causeId } = net.running.coordinator
    const job = (await client.lease(net.verifierIdentity, causeId, hardware)).job as Job
    expect(job.candidateSeq).toBe(groupSeq)
    const { verdict } = await client.attest(net.verifierIdentity, { causeId, jobId: job.jobId, candidate: job.candidate, baseline: job.baseline, trials: givenTrials(job, -0.1), hardware })
    expect(verdict.state).toBe('rejected')
    expect(store.candidate(groupSeq)?.reason).toMatch(/the group is split in halves/)
    // Halves of [B, C, D]: [B, C] as a new group, D rebased alone; no author was charged for the group.
    const [b, c, d] = passers as [number, number, number]
    const half = store.lastGroupOf(b) as number
    expect(half).toBeGreaterThan(groupSeq)
    expect(store.groupMembers(half).map((m) => m.seq)).toEqual([b, c])
    expect(store.candidate(half)?.state).toBe('queued')
    const rebased = store.candidates().find((x) => x.origin_seq === d)
    expect(rebased).toMatchObject({ state: 'queued', parent_oid: net.best })
    expect(store.lastGroupOf(d)).toBe(groupSeq)
    for (const seq of passers) expect(store.identity(store.candidate(seq)?.submitter as string).rejected).toBe(0)
    // The failed group's change lives on in its halves: the site does not show it, nor its members', until they are decided.
    for (const seq of [groupSeq, b, c, d, half]) expect(await net.publicCandidate(seq)).toMatchObject({ diff: null, diffHidden: expect.any(String) })
  })

  /** How long D's job of 3 pairs takes, as a real one takes time: the pace at which the group's job of 3 pairs is overdue (rules/hold.ts). */
  const JOB_TAKES_MS = 1500

  /**
   * A merge group G (B and C, after A merged) and a lone candidate D on the same best, both
   * leased; D passes first. Returns G, D, D's author, when G's job is overdue and when its
   * lease ends, and ways to attest G and to ask for a lease.
   */
  async function heldBehindGroup (n: TestNetwork): Promise<{ group: number, d: number, author: Identity, groupLease: { due: number, ends: number }, attestGroup: (gain: number) => Promise<string>, lease: () => Promise<Job | null> }> {
    const { passers } = await passedTogether(n)
    const store = n.running.coordinator.store
    const group = store.lastGroupOf(passers[0] as number) as number
    const author = Identity.generate()
    const d = await n.submitEdit(author, (text) => `${text}\n# D's note\n`, { claimedMetric: 1.05 })
    const client = await n.client(n.verifierIdentity)
    const { causeId } = n.running.coordinator
    const leased = [(await client.lease(n.verifierIdentity, causeId, hardware)).job as Job, (await client.lease(n.verifierIdentity, causeId, hardware)).job as Job]
    expect(leased.map((j) => j.candidateSeq).sort((x, y) => x - y)).toEqual([group, d])
    const groupJob = leased.find((j) => j.candidateSeq === group) as Job
    const dJob = leased.find((j) => j.candidateSeq === d) as Job
    const best = n.best
    await new Promise((resolve) => setTimeout(resolve, JOB_TAKES_MS))
    const { verdict } = await client.attest(n.verifierIdentity, { causeId, jobId: dJob.jobId, candidate: dJob.candidate, baseline: dJob.baseline, trials: givenTrials(dJob, 0.2), hardware })
    // D passed on the best, but the group of two is still being verified there: D waits for it.
    expect(verdict.state).toBe('pending')
    expect(n.state(d)).toBe('passed')
    expect(store.candidate(d)?.verdict).toMatchObject({ heldFor: group, passedOn: best })
    expect(n.best).toBe(best)
    expect(store.identity(author.publicKey).accepted).toBe(0)
    // The group's job of 3 pairs is overdue PATIENCE × (3 + 1) pairs at D's pace (its 3 pairs in JOB_TAKES_MS) after its lease began.
    const row = store.jobsFor(group).find((j) => j.id === groupJob.jobId)
    const groupLease = { due: (row?.leased_at as number) + PATIENCE * (JOB_TAKES_MS / 3) * 4, ends: row?.lease_expires_at as number }
    return {
      group, d, author, groupLease,
      attestGroup: async (gain) => (await client.attest(n.verifierIdentity, { causeId, jobId: groupJob.jobId, candidate: groupJob.candidate, baseline: groupJob.baseline, trials: givenTrials(groupJob, gain), hardware })).verdict.state,
      lease: async () => (await client.lease(n.verifierIdentity, causeId, hardware)).job
    }
  }

  it('a pass that waited for a larger merge group merges on its own trials once the group fails', async () => {
    net = await TestNetwork.start(NOISY)
    const { group, d, author, attestGroup, lease } = await heldBehindGroup(net)
    const store = net.running.coordinator.store
    const before = store.jobsFor(d).length
    expect(await attestGroup(-0.1)).toBe('rejected')
    // The next turn (a lease request) merges D: nothing measured again, its author credited.
    await lease()
    expect(net.state(d)).toBe('merged')
    expect(net.best).toBe(store.candidate(d)?.commit_oid)
    expect(store.jobsFor(d)).toHaveLength(before)
    expect(store.identity(author.publicKey).accepted).toBe(1)
    expect(store.candidate(group)?.state).toBe('rejected')
  })

  it('a pass that waited for a larger merge group goes on in the next group when that one merges', async () => {
    net = await TestNetwork.start(NOISY)
    const { group, d, author, attestGroup, lease } = await heldBehindGroup(net)
    const store = net.running.coordinator.store
    expect(await attestGroup(0.3)).toBe('accepted')
    expect(net.best).toBe(store.candidate(group)?.commit_oid)
    // The next turn carries D onto the group's merge, to be verified there; it is not credited yet.
    const next = await lease()
    const status = net.running.coordinator.candidateStatus(d)
    expect(status.state).toBe('rebased')
    expect(store.candidate(status.rebasedAs as number)).toMatchObject({ parent_oid: net.best })
    expect(next?.candidateSeq).toBe(status.rebasedAs)
    expect(store.identity(author.publicKey).accepted).toBe(0)
  })

  it('a pass that waited for a larger merge group merges when that group\'s job is overdue, long before its lease runs out', async () => {
    net = await TestNetwork.start(NOISY)
    const { d, author, groupLease: { due, ends } } = await heldBehindGroup(net)
    const store = net.running.coordinator.store
    // The group's verifier went silent: its job is overdue long before its lease ends.
    expect(ends).toBeGreaterThan(due + 60_000)
    expect(net.state(d)).toBe('passed')
    // No verifier asks for work meanwhile: the coordinator's own timer takes the turn that merges D.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now()) + 500))
    expect(net.state(d)).toBe('merged')
    expect(net.best).toBe(store.candidate(d)?.commit_oid)
    expect(store.identity(author.publicKey).accepted).toBe(1)
  })

  it('a pass held for a larger merge group still merges when that group is overdue after the coordinator restarts', async () => {
    net = await TestNetwork.start(NOISY)
    const { group, d, author, groupLease: { due } } = await heldBehindGroup(net)
    // The timer that watched D's wait lived in the process that stopped; the group's lease outlives the test.
    await net.restart()
    const store = net.running.coordinator.store
    expect(store.candidate(group)?.state).toBe('verifying')
    // (A restart slower than D's wait merges D at once, by the same start turn.)
    if (Date.now() < due - 250) expect(net.state(d)).toBe('passed')
    // No verifier asks for work: the restarted coordinator merges D once the group is overdue.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now()) + 500))
    expect(net.state(d)).toBe('merged')
    expect(net.best).toBe(store.candidate(d)?.commit_oid)
    expect(store.identity(author.publicKey).accepted).toBe(1)
  })

  it('a candidate waiting to join a group whose parent is the best again after a revert is verified on that best again, alone', async () => {
    net = await TestNetwork.start(NOISY)
    const first = net.best
    const authors = [Identity.generate(), Identity.generate(), Identity.generate()]
    const seqs = [
      await net.submitEdit(authors[0] as Identity, setConstant('SALT', 7), { claimedMetric: 1.0 }),
      await net.submitEdit(authors[1] as Identity, setConstant('QUALITY', 0.8), { claimedMetric: 1.1 }),
      await net.submitEdit(authors[2] as Identity, setConstant('BONUS', 0.3), { claimedMetric: 1.2 })
    ]
    const client = await net.client(net.verifierIdentity)
    const { causeId } = net.running.coordinator
    const jobs: Job[] = []
    for (const _ of seqs) jobs.push((await client.lease(net.verifierIdentity, causeId, hardware)).job as Job)
    const attest = async (job: Job): Promise<string> => (await client.attest(net!.verifierIdentity, { causeId, jobId: job.jobId, candidate: job.candidate, baseline: job.baseline, trials: givenTrials(job, 0.2), hardware })).verdict.state
    expect(await attest(jobs[0] as Job)).toBe('accepted')
    expect(await attest(jobs[1] as Job)).toBe('pending')
    const [, b] = seqs as [number, number, number]
    // B waits for C, still leased on the first best; then the operator reverts A.
    expect(net.state(b)).toBe('passed')
    revertLatestMerge(net.running.coordinator.store)
    await net.restart()
    expect(net.best).toBe(first)
    // The next lease carries B on: a new candidate on the best it passed against, verified there again.
    const next = (await (await net.client(net.verifierIdentity)).lease(net.verifierIdentity, causeId, hardware)).job
    const status = net.running.coordinator.candidateStatus(b)
    expect(status.state).toBe('rebased')
    expect(net.running.coordinator.store.candidate(status.rebasedAs as number)).toMatchObject({ parent_oid: first, origin_seq: b })
    expect(next?.candidateSeq).toBe(status.rebasedAs)
  })
})
