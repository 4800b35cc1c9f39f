/**
 * A queued candidate whose change conflicts with a newer best (`verification.conflicts`,
 * coordinator/src/rules/conflict-carry.ts): with `candidate` it is carried with its own lines
 * where the two conflict while its claim still beats the new best, verified against the new
 * best and credited the gain measured there; otherwise, and by default, it goes stale. Real
 * coordinator, libp2p and git; the verifier's measurements are given, as in
 * tests/speculation.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { describeHardware, Identity, readFileAt, type Job } from '@autoresearch/protocol'
import { credits, homePaths, revertLatestMerge, type CoordinatorEvent } from 'autoresearch-coordinator'
import { NOISY } from './adversarial/arena.ts'
import { causeWith, givenTrials, setConstant, TestNetwork } from './network.ts'

const hardware = describeHardware()

/** The host's verifier leases the next job. */
async function leaseNext (net: TestNetwork): Promise<Job> {
  const client = await net.client(net.verifierIdentity)
  return (await client.lease(net.verifierIdentity, net.running.coordinator.causeId, hardware)).job as Job
}

/** The host's verifier attests `job` with `gain` over a baseline of about 1.5; returns the verdict's state. */
async function attestWith (net: TestNetwork, job: Job, gain: number): Promise<string> {
  const client = await net.client(net.verifierIdentity)
  const { verdict } = await client.attest(net.verifierIdentity, { causeId: net.running.coordinator.causeId, jobId: job.jobId, candidate: job.candidate, baseline: job.baseline, trials: givenTrials(job, gain), hardware })
  return verdict.state
}

/** The host's verifier leases the next job and attests it with `gain`. */
async function verifyNext (net: TestNetwork, gain: number): Promise<{ job: Job, state: string }> {
  const job = await leaseNext(net)
  return { job, state: await attestWith(net, job, gain) }
}

/**
 * Three keys move QUALITY on the same best: A (to 0.8) merges first with a gain of 0.2; then B
 * (to 0.5) and C (to 0.9), found on the best A replaced, arrive claiming 0.3 and 0.005 better
 * than the new best's verified metric (given trials sit near 1.5 plus a seed's offset).
 */
async function threeOnOneLine (cause: string): Promise<{ net: TestNetwork, authors: Identity[], a: number, b: number, c: number }> {
  const net = await TestNetwork.start(cause)
  const start = net.best
  const authors = [Identity.generate(), Identity.generate(), Identity.generate()]
  const a = await net.submitEdit(authors[0] as Identity, setConstant('QUALITY', 0.8), { claimedMetric: 1.0 })
  const first = await verifyNext(net, 0.2)
  expect(first).toMatchObject({ job: { candidateSeq: a }, state: 'accepted' })
  const metric = net.running.coordinator.store.lastMerge()?.metric as number
  const b = await net.submitEdit(authors[1] as Identity, setConstant('QUALITY', 0.5), { claimedMetric: metric - 0.3, parent: start })
  const c = await net.submitEdit(authors[2] as Identity, setConstant('QUALITY', 0.9), { claimedMetric: metric - 0.005, parent: start })
  return { net, authors, a, b, c }
}

describe('a queued candidate that conflicts with a newer best', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  it('is carried with its own lines while its claim beats the new best, verified there and credited its own gain', async () => {
    const { net: n, authors, a, b, c } = await threeOnOneLine(causeWith(NOISY, { conflicts: 'candidate' }))
    net = n
    const store = net.running.coordinator.store
    const afterA = net.best
    const events: CoordinatorEvent[] = []
    net.running.coordinator.on('event', (e: CoordinatorEvent) => events.push(e))

    // The next job is B's copy on the new best, with B's line: QUALITY 0.8 -> 0.5 there.
    const { job, state } = await verifyNext(net, 0.3)
    const copy = store.candidate(job.candidateSeq)
    expect(copy).toMatchObject({ origin_seq: b, parent_oid: afterA, submitter: authors[1]?.publicKey })
    expect(job.baseline).toBe(afterA)
    const gitdir = homePaths(net.home).gitdir
    const text = await readFileAt(gitdir, copy?.commit_oid as string, 'train.py') as string
    expect(text).toBe(setConstant('QUALITY', 0.5)(await readFileAt(gitdir, afterA, 'train.py') as string))
    expect(store.candidate(b)).toMatchObject({ state: 'rebased', reason: expect.stringContaining('its own lines kept where it conflicted with the new best (train.py)') })
    expect(events).toContainEqual({ type: 'rebased', candidateSeq: b, newSeq: copy?.seq, ownLines: ['train.py'] })
    // C's claim does not beat the new best by the margin (0.02): stale, as without the rule.
    expect(store.candidate(c)).toMatchObject({ state: 'stale', reason: expect.stringContaining('conflicts with the new best') })

    // Verified against the new best, it merges; each author is credited the gain measured on their own step.
    expect(state).toBe('accepted')
    expect(net.best).toBe(copy?.commit_oid)
    expect(store.merges().filter((m) => m.kind === 'merge').map((m) => m.candidate_seq)).toEqual([a, job.candidateSeq])
    const credit = credits(store, net.running.coordinator.manifest)
    for (const [i, gain] of [[0, 0.2], [1, 0.3]] as const) {
      const mine = credit.find((x) => x.publicKey === authors[i]?.publicKey)
      expect(mine?.merges).toBe(1)
      expect(mine?.verifiedGain).toBeCloseTo(gain, 1)
    }
    expect(credit.find((x) => x.publicKey === authors[2]?.publicKey)?.merges ?? 0).toBe(0)
  })

  it('an inflated claim gets its copy verified once, rejected and charged as a rejection, and nothing of it merges', async () => {
    const { net: n, authors, b } = await threeOnOneLine(causeWith(NOISY, { conflicts: 'candidate' }))
    net = n
    const store = net.running.coordinator.store
    const afterA = net.best
    // B's find is worth nothing on the new best: its copy fails there.
    const { job, state } = await verifyNext(net, 0)
    expect(store.candidate(job.candidateSeq)).toMatchObject({ origin_seq: b })
    expect(state).toBe('rejected')
    expect(net.best).toBe(afterA)
    const liar = store.identity(authors[1]?.publicKey as string)
    expect(liar).toMatchObject({ rejected: 1, accepted: 0 })
    // A coordinator rebase's claim is held against nobody (docs/trust.md): the rejection is all it costs.
    expect(liar.contradicted).toBe(0)
  })

  it('never for a candidate built on a merge the operator reverted: a hunk taken whole could bring that merge back', async () => {
    net = await TestNetwork.start(causeWith(NOISY, { conflicts: 'candidate' }))
    const store = net.running.coordinator.store
    const [first, a, b] = [Identity.generate(), Identity.generate(), Identity.generate()]
    // A first merge gives the best a verified metric; then A (SALT) merges on it.
    await net.submitEdit(first, setConstant('BONUS', 0.4), { claimedMetric: 1.0 })
    expect((await verifyNext(net, 0.1)).state).toBe('accepted')
    const restored = net.best
    const restoredMetric = store.lastMerge()?.metric as number
    const aSeq = await net.submitEdit(a, setConstant('SALT', 7), { claimedMetric: 1.0 })
    expect((await verifyNext(net, 0.2)).state).toBe('accepted')
    // B, on A, changes the line next to A's, and claims far better than the best the revert restores.
    const bSeq = await net.submitEdit(b, setConstant('SEED_FROM_ENV', 2), { claimedMetric: restoredMetric - 0.5, parent: net.best })
    expect(revertLatestMerge(store)).toMatchObject({ commit: restored })
    expect(store.candidate(aSeq)?.state).toBe('reverted')
    expect(store.lastMerge()).toMatchObject({ kind: 'revert', commit_oid: restored, metric: restoredMetric })
    // Carried onto the restored best, B's own change meets the revert in one hunk: stale, naming the reverted merge.
    const client = await net.client(net.verifierIdentity)
    expect((await client.lease(net.verifierIdentity, net.running.coordinator.causeId, hardware)).job).toBeNull()
    expect(store.candidate(bSeq)).toMatchObject({ state: 'stale', reason: expect.stringMatching(/which the operator reverted.*conflicts with the new best/) })
    expect(store.candidates().filter((c) => c.origin_seq === bSeq)).toEqual([])
  })

  it('passed on a best that another merge replaced while it was verified, it goes stale under either setting (carrying it was measured slower)', async () => {
    for (const conflicts of ['candidate', 'stale'] as const) {
      net = await TestNetwork.start(causeWith(NOISY, { conflicts }))
      const store = net.running.coordinator.store
      const [small, large] = [Identity.generate(), Identity.generate()]
      // Two finds on one line of the same best, verified side by side: the smaller step's job ends first and merges.
      const a = await net.submitEdit(small, setConstant('QUALITY', 0.8), { claimedMetric: 1.2 })
      const b = await net.submitEdit(large, setConstant('QUALITY', 0.5), { claimedMetric: 1.0 })
      const jobs = [await leaseNext(net), await leaseNext(net)]
      const jobOf = (seq: number): Job => jobs.find((j) => j.candidateSeq === seq) as Job
      expect(await attestWith(net, jobOf(a), 0.2)).toBe('accepted')
      await attestWith(net, jobOf(b), 0.5)
      await net.running.coordinator.rebaseStale()
      expect(store.candidate(b)).toMatchObject({ state: 'stale', reason: expect.stringContaining('conflicts with the new best') })
      expect(store.candidates().some((c) => c.origin_seq === b)).toBe(false)
      await net.stop()
      net = undefined
    }
  })

  it('goes stale by default, whatever it claims', async () => {
    const { net: n, b, c } = await threeOnOneLine(NOISY)
    net = n
    const store = net.running.coordinator.store
    expect(net.running.coordinator.manifest.verification.conflicts).toBe('stale')
    // Nothing left to lease: both conflicting candidates went back to their authors.
    const client = await net.client(net.verifierIdentity)
    expect((await client.lease(net.verifierIdentity, net.running.coordinator.causeId, hardware)).job).toBeNull()
    for (const seq of [b, c]) expect(store.candidate(seq)).toMatchObject({ state: 'stale', reason: expect.stringContaining('conflicts with the new best') })
  })
})
