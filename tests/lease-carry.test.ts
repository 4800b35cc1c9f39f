/**
 * After a merge, the candidates left on the old best are carried onto the new one before they
 * can be leased. A verifier waiting on that turn gets the first one that carries cleanly (best
 * claim first) without waiting for the others (handlers/lease.ts, `untilCarried`); the rest
 * are carried in the next turns. Real coordinator, libp2p and git; measurements given.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { describeHardware, Identity, sha256Hex, type Job } from '@autoresearch/protocol'
import { NOISY } from './adversarial/arena.ts'
import { setConstant, TestNetwork } from './network.ts'

const hardware = describeHardware()
const digest = sha256Hex('')
const trials = (job: Job, gain: number): Array<{ seed: number, baseline: number, candidate: number, baselineLogDigest: string, candidateLogDigest: string }> =>
  job.seeds.map((seed, i) => ({ seed, baseline: 1.5 + seed / 1e6, candidate: 1.5 + seed / 1e6 - gain + i / 1000, baselineLogDigest: digest, candidateLogDigest: digest }))

describe('a lease after a merge', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  it('gets the first candidate that carries cleanly onto the new best, and leaves the rest for the next turns', async () => {
    net = await TestNetwork.start(NOISY)
    const old = net.best
    const merged = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8), { claimedMetric: 1.0 })
    const conflicting = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.7), { claimedMetric: 1.05 })
    const clean = await net.submitEdit(Identity.generate(), setConstant('BONUS', 0.3), { claimedMetric: 1.1 })
    const later = await net.submitEdit(Identity.generate(), setConstant('SALT', 7), { claimedMetric: 1.2 })
    const client = await net.client(net.verifierIdentity)
    const { causeId } = net.running.coordinator
    const job = (await client.lease(net.verifierIdentity, causeId, hardware)).job as Job
    expect(job.candidateSeq).toBe(merged)
    expect((await client.attest(net.verifierIdentity, { causeId, jobId: job.jobId, candidate: job.candidate, baseline: job.baseline, trials: trials(job, 0.2), hardware })).verdict.state).toBe('accepted')

    const next = (await client.lease(net.verifierIdentity, causeId, hardware)).job as Job
    const store = net.running.coordinator.store
    expect(net.state(conflicting)).toBe('stale')
    expect(store.candidate(next.candidateSeq)).toMatchObject({ origin_seq: clean, parent_oid: net.best })
    // Not carried yet: still queued on the old best.
    expect(store.candidate(later)).toMatchObject({ state: 'queued', parent_oid: old })
    const after = (await client.lease(net.verifierIdentity, causeId, hardware)).job as Job
    expect(store.candidate(after.candidateSeq)).toMatchObject({ origin_seq: later, parent_oid: net.best })
  })
})
