/**
 * Open verification without a Sybil hole, with hand-written attestations (no runs): a new
 * key's jobs are shadow jobs until it agreed with the trust root on a run of jobs; a
 * trusted key is spot-checked, and a disagreement demotes it.
 */
import * as fs from 'node:fs'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { commitWithChanges, CoordinatorClient, createNode, ensureBareRepo, Identity, packForSubmission, readFileAt, sha256Hex, type AutoresearchNode, type Job } from '@autoresearch/protocol'
import { homePaths, initHome, serveCoordinator, type RunningCoordinator } from '../src/index.ts'
import { standingOf } from '../src/verifier-trust.ts'
import { TOY } from './fixture.ts'

const hardware = { class: 'test', cpus: 1, gpus: [] }
const digest = sha256Hex('log')

describe('open mode: probation, trust and spot checks', () => {
  let running: RunningCoordinator
  let host: Identity
  let gitdir: string
  let best: string
  const nodes: AutoresearchNode[] = []
  const submitter = Identity.generate()
  const newcomer = Identity.generate()

  const client = async (identity: Identity): Promise<CoordinatorClient> => {
    const node = await createNode({ identity })
    nodes.push(node)
    return new CoordinatorClient(node, running.multiaddrs[0] as string)
  }
  const causeId = (): string => running.coordinator.causeId
  const store = () => running.coordinator.store
  const trust = () => ({ manifest: running.coordinator.manifest, store: store(), verifierMode: 'open' as const, verifiers: new Set([host.publicKey]), trustAfterAgreements: 2 })

  async function submit (marker: string): Promise<number> {
    const text = await readFileAt(gitdir, best, 'train.py') as string
    const commit = await commitWithChanges(gitdir, best, { 'train.py': `${text}\n# ${marker}\n` }, marker)
    const { receipt } = await (await client(submitter)).submit(submitter, { causeId: causeId(), parent: best, candidate: commit, claimedMetric: 0.02, logDigest: digest, description: marker }, await packForSubmission(gitdir, commit, best))
    return receipt.candidateSeq
  }
  async function lease (identity: Identity): Promise<Job | null> {
    return (await (await client(identity)).lease(identity, causeId(), hardware)).job
  }
  /** Attests `gain` on every seed (baseline 0.08), with a little per-seed noise. */
  async function attest (identity: Identity, job: Job, gain: number): Promise<{ state: string, reason: string }> {
    const trials = job.seeds.map((seed, i) => ({ seed, baseline: 0.08, candidate: 0.08 - gain - 0.0004 * (i % 3), baselineLogDigest: digest, candidateLogDigest: digest }))
    return (await (await client(identity)).attest(identity, { causeId: causeId(), jobId: job.jobId, candidate: job.candidate, baseline: job.baseline, trials, hardware })).verdict
  }

  beforeAll(async () => {
    const home = join(mkdtempSync(join(tmpdir(), 'ar-open-')), 'home')
    await initHome(home, TOY)
    const config = homePaths(home).config
    fs.writeFileSync(config, JSON.stringify({ ...JSON.parse(fs.readFileSync(config, 'utf8')), verifierMode: 'open', trustAfterAgreements: 2 }))
    host = Identity.load(homePaths(home).verifierIdentity)
    running = await serveCoordinator({ home, listen: ['/ip4/127.0.0.1/tcp/0'], httpPort: 0 })
    gitdir = join(mkdtempSync(join(tmpdir(), 'ar-open-sub-')), 'repo.git')
    await ensureBareRepo(gitdir)
    best = (await (await client(submitter)).info()).best.commit
    await (await client(submitter)).sync(gitdir, best, [])
  })
  afterAll(async () => {
    await Promise.all(nodes.map(async (n) => n.stop()))
    await running.stop()
  })

  it('a new key gets shadow jobs that never decide, and earns trust by agreeing with the root', async () => {
    const first = await submit('first')
    const shadow = await lease(newcomer) as Job
    expect(shadow.candidateSeq).toBe(first)
    // The newcomer's attestation alone decides nothing.
    const early = await attest(newcomer, shadow, 0)
    expect(early.state).toBe('pending')
    expect(early.reason).toMatch(/shadow job/)
    expect(store().candidate(first)!.state).toBe('queued')
    const rootJob = await lease(host) as Job
    expect((await attest(host, rootJob, 0)).state).toBe('rejected')
    expect(store().verifierChecks(newcomer.publicKey)).toEqual([true])
    expect(store().agreementRun(newcomer.publicKey)).toBe(1)

    // Quorum 1: the root's lease makes the candidate "verifying"; a shadow may still join it.
    const second = await submit('second')
    const rootSecond = await lease(host) as Job
    expect(store().candidate(second)!.state).toBe('verifying')
    const shadowSecond = await lease(newcomer) as Job
    expect(shadowSecond.candidateSeq).toBe(second)
    expect((await attest(host, rootSecond, 0)).state).toBe('rejected')
    await attest(newcomer, shadowSecond, 0.0002)
    expect(store().verifierChecks(newcomer.publicKey)).toEqual([true, true])
    expect(store().agreementRun(newcomer.publicKey)).toBe(2)
    expect(standingOf(trust(), newcomer.publicKey).standing).toBe('trusted')
  })

  it('a newly trusted key is spot-checked; lying then demotes it and its attestation does not count', async () => {
    const before = running.coordinator.bestCommit()
    const third = await submit('third')
    const job = await lease(newcomer) as Job
    expect(store().jobRoles(third).get(job.jobId)).toBe('spot-check')
    const lie = await attest(newcomer, job, 0.07)
    expect(lie.state).toBe('pending')
    expect(lie.reason).toMatch(/1 of 2 attestations/)
    const check = await lease(host) as Job
    expect(check.candidateSeq).toBe(third)
    const verdict = await attest(host, check, 0)
    expect(verdict.state).toBe('rejected')
    expect(store().verifierChecks(newcomer.publicKey)).toEqual([true, true, false])
    expect(store().agreementRun(newcomer.publicKey)).toBe(0)
    expect(standingOf(trust(), newcomer.publicKey).standing).toBe('probation')
    expect(running.coordinator.bestCommit()).toBe(before)
  })

  it('caps shadow jobs per candidate and round', async () => {
    const fourth = await submit('fourth')
    const swarm = Array.from({ length: 5 }, () => Identity.generate())
    const jobs = []
    for (const key of swarm) jobs.push(await lease(key))
    expect(jobs.filter((j) => j !== null)).toHaveLength(4)
    for (const [i, job] of jobs.entries()) if (job !== null) await attest(swarm[i] as Identity, job, 0.07)
    expect(store().candidate(fourth)!.state).toBe('queued')
    expect((await attest(host, await lease(host) as Job, 0)).state).toBe('rejected')
    for (const key of swarm.slice(0, 4)) {
      expect(store().verifierChecks(key.publicKey)).toEqual([false])
      expect(store().agreementRun(key.publicKey)).toBe(0)
    }
  })
})
