/**
 * Work waits for the verifier that holds its baselines (coordinator/src/rules/holder.ts): with
 * `reuseCandidateRuns` the verifier that verified a candidate keeps its runs as that commit's
 * baselines, so a job measured against that commit goes to it, not to a verifier that would run
 * them again. Real coordinator, libp2p and git; leases and attestations by hand, as in
 * tests/speculation.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { describeHardware, Identity, type Job } from '@autoresearch/protocol'
import { HOLDER_GRACE_MS } from '../coordinator/src/rules/holder.ts'
import { NOISY } from './adversarial/arena.ts'
import { causeWith, givenTrials, setConstant, TestNetwork } from './network.ts'
import { until } from './until.ts'

const hardware = describeHardware()

/** The host's verifier and `others` more on the allowlist (`second`, and `third` when there are two: otherwise the same key). */
async function withVerifiers (fields: Record<string, unknown>, others = 1): Promise<{ net: TestNetwork, second: Identity, third: Identity, lease: (who: Identity, waitMs?: number) => Promise<Job | null>, attest: (who: Identity, job: Job, gain: number) => Promise<string> }> {
  const keys = Array.from({ length: others }, () => Identity.generate())
  const net = await TestNetwork.start(causeWith(NOISY, fields), (c) => ({ verifiers: [...c.verifiers, ...keys.map((k) => k.publicKey)] }))
  const { causeId } = net.running.coordinator
  return {
    net,
    second: keys[0] as Identity,
    third: keys[1] ?? (keys[0] as Identity),
    lease: async (who, waitMs) => (await (await net.client(who)).lease(who, causeId, hardware, waitMs === undefined ? {} : { waitMs })).job,
    attest: async (who, job, gain) => (await (await net.client(who)).attest(who, { causeId, jobId: job.jobId, candidate: job.candidate, baseline: job.baseline, trials: givenTrials(job, gain), hardware })).verdict.state
  }
}

/** Two verifiers (or the host's and `others` more) with reuse; the host's has verified and merged one candidate (`first`), and holds its runs. */
async function afterOneMerge (others = 1): Promise<Awaited<ReturnType<typeof withVerifiers>> & { first: Job }> {
  const two = await withVerifiers({ reuseCandidateRuns: true }, others)
  const host = two.net.verifierIdentity
  await two.net.submitEdit(Identity.generate(), setConstant('SALT', 7), { claimedMetric: 1.0 })
  const first = await two.lease(host) as Job
  expect(await two.attest(host, first, 0.1)).toBe('accepted')
  return { ...two, first }
}

describe('work waits for the verifier that holds its baselines', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  it('a candidate carried onto the one being verified goes to that one\'s verifier once it is done, not to the other meanwhile', async () => {
    const { net: n, second, lease, attest } = await withVerifiers({ reuseCandidateRuns: true, speculation: { window: 2 } })
    net = n
    const host = net.verifierIdentity
    const a = await net.submitEdit(Identity.generate(), setConstant('SALT', 7), { claimedMetric: 1.0 })
    const b = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8), { claimedMetric: 1.1 })
    const first = await lease(host) as Job
    expect(first.candidateSeq).toBe(a)
    // Without reuse the second verifier gets B on top of A at once (tests/speculation.test.ts); here the host will hold A's runs.
    expect(await lease(second)).toBeNull()
    expect(await attest(host, first, 0.1)).toBe('accepted')
    const next = await lease(host) as Job
    expect(next).toMatchObject({ baseline: first.candidate })
    expect(net.running.coordinator.store.candidate(next.candidateSeq)).toMatchObject({ origin_seq: b, parent_oid: first.candidate })
    expect(await attest(host, next, 0.2)).toBe('accepted')
    expect(net.running.coordinator.status().merges).toBe(2)
  })

  it('a holder that does not come back for it within the grace leaves it to any verifier, whose held request is woken then', async () => {
    const { net: n, second, lease, first } = await afterOneMerge()
    net = n
    const attestedAt = Date.now()
    const b = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8), { claimedMetric: 1.1 })
    // The host, which holds the new best's runs, has not asked since its attestation: the job waits for it.
    expect(await lease(second)).toBeNull()
    // It never asks; a request held open gets the job once the grace is over, well before the hold's own end (20 s).
    const job = await lease(second, 20_000)
    expect(job).toMatchObject({ candidateSeq: b, baseline: first.candidate })
    expect(Date.now()).toBeGreaterThanOrEqual(attestedAt + HOLDER_GRACE_MS - 1000)
    expect(Date.now()).toBeLessThan(attestedAt + 15_000)
  })

  it('the holder\'s look ends the wait: a second candidate on its commit goes to the other verifier at once', async () => {
    const { net: n, second, lease, first } = await afterOneMerge()
    net = n
    const b = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8), { claimedMetric: 1.1 })
    const c = await net.submitEdit(Identity.generate(), setConstant('BONUS', 0.3), { claimedMetric: 1.2 })
    // The second verifier's request waits; the host takes the better claim, and the wait ends with it.
    const waiting = lease(second, 20_000)
    await until(() => net?.running.coordinator.leaseHolds.waiting === 1, 'the second verifier\'s request is held', 5000)
    const taken = await lease(net.verifierIdentity)
    expect(taken).toMatchObject({ candidateSeq: b, baseline: first.candidate })
    expect(await waiting).toMatchObject({ candidateSeq: c, baseline: first.candidate })
    // Woken by the host's lease, not by the grace's end: the lease timer is still set for that end, before either job's lease.
    expect(net.running.coordinator.leaseExpiry.due).toBeLessThan(taken?.leaseExpiresAt as number)
  })

  it('a holder that looks and may not take it (its own candidate) leaves it to the other verifier at once', async () => {
    const { net: n, second, lease, first } = await afterOneMerge()
    net = n
    const host = net.verifierIdentity
    const own = await net.submitEdit(host, setConstant('QUALITY', 0.8), { claimedMetric: 1.1 })
    const waiting = lease(second, 20_000)
    await until(() => net?.running.coordinator.leaseHolds.waiting === 1, 'the second verifier\'s request is held', 5000)
    expect(await lease(host)).toBeNull()
    const job = await waiting
    expect(job).toMatchObject({ candidateSeq: own, baseline: first.candidate })
    // Woken by the host's look, not by the grace's end: the lease timer is still set for that end, before the new job's lease.
    expect(net.running.coordinator.leaseExpiry.due).toBeLessThan(job?.leaseExpiresAt as number)
  })

  it('two requests held for the same holder wait quietly, and the holder\'s lease serves one of them at once', async () => {
    const { net: n, second, third, lease, first } = await afterOneMerge(2)
    net = n
    const coordinator = net.running.coordinator
    await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8), { claimedMetric: 1.1 })
    const c = await net.submitEdit(Identity.generate(), setConstant('BONUS', 0.3), { claimedMetric: 1.2 })
    let looks = 0
    const looked = coordinator.holderWaits.looked.bind(coordinator.holderWaits)
    coordinator.holderWaits.looked = (verifier, at) => { looks++; return looked(verifier, at) }
    // Both held for the host (which holds the new best's runs) within its grace; neither look frees anything, so neither wakes the other.
    const waiting = [lease(second, 4000), lease(third, 4000)]
    await until(() => coordinator.leaseHolds.waiting === 2, 'both requests are held', 5000)
    await new Promise((resolve) => setTimeout(resolve, 1000))
    expect(looks).toBeLessThanOrEqual(4)
    const taken = await lease(net.verifierIdentity)
    expect(taken).toMatchObject({ baseline: first.candidate })
    const jobs = await Promise.all(waiting)
    // One takes the other candidate when the host's lease wakes them; the last finds nothing left and its hold times out.
    expect(jobs.filter((j) => j !== null)).toEqual([expect.objectContaining({ candidateSeq: c, baseline: first.candidate })])
    expect(looks).toBeLessThanOrEqual(10)
  })
})
