import * as fs from 'node:fs'
import git from 'isomorphic-git'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { commitWithChanges, Identity, packForSubmission, readFileAt, sha256Hex, type Job } from '@autoresearch/protocol'
import { BEST_REF } from '../src/index.ts'
import { snapshot, startFixture, type Fixture } from './fixture.ts'

const hardware = { class: 'test', cpus: 1, gpus: [] }
const digest = sha256Hex('log')

async function submit (f: Fixture, marker: string): Promise<string> {
  const text = await readFileAt(f.gitdir, f.best, 'train.py') as string
  const commit = await commitWithChanges(f.gitdir, f.best, { 'train.py': `${text}\n# ${marker}\n` }, marker)
  await f.client.submit(f.identity, { causeId: f.running.coordinator.causeId, parent: f.best, candidate: commit, claimedMetric: 0.02, logDigest: digest, description: marker }, await packForSubmission(f.gitdir, commit, f.best))
  return commit
}

const trials = (job: Job, baseline: number, candidate: (i: number) => number) =>
  job.seeds.map((seed, i) => ({ seed, baseline, candidate: candidate(i), baselineLogDigest: digest, candidateLogDigest: digest }))

describe('leases, attestations and merge', () => {
  let f: Fixture
  beforeAll(async () => { f = await startFixture() })
  afterAll(async () => { await f.stop() })



  it('leases only to allowlisted verifiers, never to the submitter', async () => {
    await submit(f, 'first')
    await expect(f.client.lease(Identity.generate(), f.running.coordinator.causeId, hardware)).rejects.toMatchObject({ name: 'NotAuthorizedError' })
    const status = f.running.coordinator.status()
    expect(status.candidates.queued).toBe(1)
  })

  it('refuses an attestation whose seeds are not the job\'s', async () => {
    const { job } = await f.client.lease(f.verifier, f.running.coordinator.causeId, hardware)
    const bad = trials(job as Job, 0.08, () => 0.02).map((t) => ({ ...t, seed: t.seed + 1 }))
    await expect(f.client.attest(f.verifier, { causeId: f.running.coordinator.causeId, jobId: job!.jobId, candidate: job!.candidate, baseline: job!.baseline, trials: bad, hardware }))
      .rejects.toMatchObject({ name: 'InvalidMessageError' })
  })

  it('merges a passing candidate: ref and database move together, and a fetch sends only the new objects', async () => {
    // The job leased in the previous test is still this verifier's: a second lease gives nothing new.
    expect((await f.client.lease(f.verifier, f.running.coordinator.causeId, hardware)).job).toBeNull()
    const job = f.running.coordinator.store.jobsFor(1).map((j) => ({ jobId: j.id, candidate: f.running.coordinator.store.candidate(1)!.commit_oid, baseline: j.baseline_oid, seeds: j.seeds, candidateSeq: 1, leaseExpiresAt: j.lease_expires_at }))[0]
    const { verdict } = await f.client.attest(f.verifier, { causeId: f.running.coordinator.causeId, jobId: job!.jobId, candidate: job!.candidate, baseline: job!.baseline, trials: trials(job!, 0.08, (i) => 0.03 + i * 0.001), hardware })
    expect(verdict.state).toBe('accepted')
    const info = await f.client.info()
    expect(info.best.commit).toBe(job!.candidate)
    expect(info.best.seq).toBe(1)
    expect(await git.resolveRef({ fs, gitdir: f.running.coordinator.paths.gitdir, ref: BEST_REF })).toBe(job!.candidate)
    // A one-file change: one commit, one root tree, one blob.
    const incremental = await f.client.fetchPack(job!.candidate, [f.best])
    expect(incremental.objects).toBe(3)
    const full = await f.client.fetchPack(job!.candidate, [])
    expect(full.objects).toBeGreaterThan(incremental.objects + 5)
  })

  it('rejects a candidate whose gain is inside the noise, with the test\'s figures', async () => {
    f.best = (await f.client.info()).best.commit
    const text = await readFileAt(f.gitdir, f.best, 'train.py')
    if (text === undefined) await f.client.sync(f.gitdir, f.best, [])
    await submit(f, 'noise')
    const { job } = await f.client.lease(f.verifier, f.running.coordinator.causeId, hardware)
    const { verdict } = await f.client.attest(f.verifier, { causeId: f.running.coordinator.causeId, jobId: job!.jobId, candidate: job!.candidate, baseline: job!.baseline, trials: trials(job!, 0.05, (i) => [0.03, 0.06, 0.055, 0.045, 0.07][i] as number), hardware })
    expect(verdict.state).toBe('rejected')
    expect(verdict.reason).toMatch(/does not beat minImprovement 0.005 at confidence 0.975 \(p=/)
    expect(f.running.coordinator.status().best.commit).not.toBe(job!.candidate)
  })
})

describe('lease expiry', () => {
  let f: Fixture
  beforeAll(async () => { f = await startFixture({ leaseSeconds: 2 }) })
  afterAll(async () => { await f.stop() })


  it('re-issues an expired lease and refuses the late attestation', async () => {
    await submit(f, 'slow')
    const first = await f.client.lease(f.verifier, f.running.coordinator.causeId, hardware)
    expect(first.job).not.toBeNull()
    const job = first.job as Job
    await new Promise((r) => setTimeout(r, 2500))
    const again = await f.client.lease(f.verifier, f.running.coordinator.causeId, hardware)
    expect(again.job?.candidateSeq).toBe(job.candidateSeq)
    expect(again.job?.jobId).not.toBe(job.jobId)
    const before = await snapshot(f.running)
    await expect(f.client.attest(f.verifier, { causeId: f.running.coordinator.causeId, jobId: job.jobId, candidate: job.candidate, baseline: job.baseline, trials: trials(job, 0.08, () => 0.02), hardware }))
      .rejects.toMatchObject({ name: 'LeaseExpiredError' })
    expect(await snapshot(f.running)).toEqual(before)
  })

})
