/**
 * After a merge, the candidates left on the old best are carried onto the new one before they
 * can be leased. A verifier waiting on that turn gets the first one that carries cleanly (best
 * claim first) without waiting for the others (handlers/lease.ts, `untilCarried`); the rest
 * are carried right after, a batch per turn of the serial queue (Coordinator.carryRest). Real
 * coordinator, libp2p and git; measurements given.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { describeHardware, Identity, type Job } from '@autoresearch/protocol'
import { NOISY } from './adversarial/arena.ts'
import { givenTrials, setConstant, TestNetwork } from './network.ts'

const hardware = describeHardware()

describe('a lease after a merge', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  it('gets the first candidate that carries cleanly onto the new best, and the rest is carried right after, in turns of its own', async () => {
    net = await TestNetwork.start(NOISY)
    const old = net.best
    const merged = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8), { claimedMetric: 1.0 })
    const conflicting = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.7), { claimedMetric: 1.05 })
    const clean = await net.submitEdit(Identity.generate(), setConstant('BONUS', 0.3), { claimedMetric: 1.1 })
    const later = await net.submitEdit(Identity.generate(), setConstant('SALT', 7), { claimedMetric: 1.2 })
    const last = await net.submitEdit(Identity.generate(), (text) => `${text}\n# a note at the end\n`, { claimedMetric: 1.3 })
    const client = await net.client(net.verifierIdentity)
    const { causeId } = net.running.coordinator
    const job = (await client.lease(net.verifierIdentity, causeId, hardware)).job as Job
    expect(job.candidateSeq).toBe(merged)
    expect((await client.attest(net.verifierIdentity, { causeId, jobId: job.jobId, candidate: job.candidate, baseline: job.baseline, trials: givenTrials(job, 0.2), hardware })).verdict.state).toBe('accepted')

    // The lease request's turn (handlers/lease.ts): carry until the first clean carry.
    const coordinator = net.running.coordinator
    const store = coordinator.store
    expect(await coordinator.serially(async () => coordinator.rebaseStale(8, { untilCarried: true }))).toBe(2)
    expect(net.state(conflicting)).toBe('stale')
    expect(net.state(clean)).toBe('rebased')
    expect(store.candidate(later)).toMatchObject({ state: 'queued', parent_oid: old })
    // A lease's turn carries one more (SALT) and leases the best claim; what is left is carried after it, in turns of their own.
    const next = (await client.lease(net.verifierIdentity, causeId, hardware)).job as Job
    expect(store.candidate(next.candidateSeq)).toMatchObject({ origin_seq: clean, parent_oid: net.best })
    expect(net.state(later)).toBe('rebased')
    for (let i = 0; i < 100 && store.candidate(last)?.state === 'queued'; i++) await new Promise((resolve) => setTimeout(resolve, 50))
    expect(store.candidates().find((c) => c.origin_seq === last)).toMatchObject({ state: 'queued', parent_oid: net.best })
    expect(old).not.toBe(net.best)
  })
})
