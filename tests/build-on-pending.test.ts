/**
 * Where a cause declares `collaboration.buildOnPending`, a worker with nothing of its own on the
 * best builds on another worker's candidate still in the queue (worker/src/operations/adopt.ts):
 * it fetches it, measures it here, and a find that needs it goes on top of it, verified once that
 * one has merged, against it, so each author is credited their own step. Rejected, the worker
 * drops what it built on it. Real coordinator, libp2p, git and sandbox; in the second case the
 * verifier's measurements are given, as in tests/conflict-carry.test.ts.
 */
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { describeHardware, Identity, readFileAt, type Job } from '@autoresearch/protocol'
import { credits, homePaths } from 'autoresearch-coordinator'
import { Worker, type WorkerEvent } from 'autoresearch-worker'
import { NOISY } from './adversarial/arena.ts'
import { causeWith, givenTrials, scriptedAgent, setConstant, TestNetwork } from './network.ts'

const PENDING = causeWith(NOISY, {}, { buildOnPending: true })

async function worker (net: TestNetwork, identity: Identity, steps: Parameters<typeof scriptedAgent>[0]): Promise<{ worker: Worker, events: WorkerEvent[] }> {
  const w = new Worker({ client: await net.client(identity), identity, stateDir: join(net.scratch, `worker-${identity.publicKey.slice(0, 8)}`), lookahead: false, agent: scriptedAgent(steps) })
  const events: WorkerEvent[] = []
  w.on('event', (e) => events.push(e))
  return { worker: w, events }
}

/** A network of a cause that declares buildOnPending, with another key's QUALITY 1.0 -> 0.5 (a real gain of about 0.5) queued. */
async function withPending (): Promise<{ net: TestNetwork, initial: string, owner: Identity, pending: number }> {
  const net = await TestNetwork.start(PENDING)
  const initial = net.best
  const owner = Identity.generate()
  const pending = await net.submitEdit(owner, setConstant('QUALITY', 0.5), { claimedMetric: 1.0 })
  return { net, initial, owner, pending }
}

describe("building on another worker's pending candidate", () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  it('measures it, sends a find that needs it on top of it, and both merge, each author credited their own gain', async () => {
    // Nothing is verified while the worker runs.
    const { net: n, initial, owner, pending } = await withPending()
    net = n
    const store = net.running.coordinator.store
    const p = store.candidate(pending)!
    const identity = Identity.generate()
    const { worker: w, events } = await worker(net, identity, [{ edit: setConstant('QUALITY', 0.25), description: 'QUALITY 0.5 -> 0.25' }])
    await w.run({ maxExperiments: 1 })
    const log = JSON.stringify(events.filter((e) => e.type !== 'phase'))
    expect(events.find((e) => e.type === 'pending-measured'), log).toMatchObject({ seq: pending, commit: p.commit_oid, adopted: true })
    // The agent was asked on the pending candidate's files: its edit is QUALITY 0.5 -> 0.25.
    const mine = store.candidates().filter((c) => c.submitter === identity.publicKey)
    expect(mine, log).toHaveLength(1)
    const child = mine[0]!
    expect(child.parent_oid).toBe(p.commit_oid)
    expect(child.description).toBe('QUALITY 0.5 -> 0.25')
    expect(events.find((e) => e.type === 'submitted')).toMatchObject({ on: p.commit_oid })

    await net.verifyAll()
    expect([net.state(pending), net.state(child.seq)]).toEqual(['merged', 'merged'])
    const merges = store.merges().filter((m) => m.kind === 'merge')
    expect(merges.map((m) => m.candidate_seq)).toEqual([pending, child.seq])
    expect(merges[1]?.parent_oid).toBe(p.commit_oid)
    const gitdir = join(net.scratch, `repo-${owner.publicKey.slice(0, 8)}.git`)
    await (await net.client(owner)).sync(gitdir, net.best, [])
    expect(await readFileAt(gitdir, net.best, 'train.py')).toBe(setConstant('QUALITY', 0.25)(await readFileAt(gitdir, initial, 'train.py') ?? ''))
    // Each is credited the gain verified on its own step: about 0.5 and 0.25, not 0.75 for the second.
    const credit = credits(store, net.running.coordinator.manifest)
    const gain = (key: string): number => credit.find((c) => c.publicKey === key)?.verifiedGain ?? NaN
    expect(gain(owner.publicKey)).toBeGreaterThan(0.35)
    expect(gain(identity.publicKey)).toBeGreaterThan(0.15)
    expect(gain(identity.publicKey)).toBeLessThan(0.35)
  })

  it('is dropped when that candidate is rejected: the find on it never merges, and the next goes on the best', async () => {
    const { net: n, initial, pending } = await withPending()
    net = n
    const store = net.running.coordinator.store
    const identity = Identity.generate()
    const { worker: w, events } = await worker(net, identity, [
      { edit: setConstant('QUALITY', 0.25), description: 'QUALITY 0.5 -> 0.25' },
      { edit: setConstant('BONUS', 0.2), description: 'BONUS 0.5 -> 0.2' }
    ])
    await w.run({ maxExperiments: 1 })
    const child = store.candidates().find((c) => c.submitter === identity.publicKey)!
    expect(child.parent_oid).toBe(store.candidate(pending)?.commit_oid)

    // The verifiers find no gain in the pending candidate (given trials): rejected.
    const { causeId } = net.running.coordinator
    const client = await net.client(net.verifierIdentity)
    const hardware = describeHardware()
    const job = (await client.lease(net.verifierIdentity, causeId, hardware)).job as Job
    expect(job.candidateSeq).toBe(pending)
    const { verdict } = await client.attest(net.verifierIdentity, { causeId, jobId: job.jobId, candidate: job.candidate, baseline: job.baseline, trials: givenTrials(job, 0), hardware })
    expect(verdict.state).toBe('rejected')

    await w.run({ maxExperiments: 2 })
    const log = JSON.stringify(events.filter((e) => e.type !== 'phase'))
    expect(events.find((e) => e.type === 'adopted-dropped'), log).toMatchObject({ seq: pending, state: 'rejected' })
    // The next find went on the best, with the best's QUALITY, not the rejected one's.
    const next = store.candidates().filter((c) => c.submitter === identity.publicKey && c.origin_seq === null)[1]
    expect(next?.parent_oid, log).toBe(initial)
    const gitdir = join(net.scratch, `worker-${identity.publicKey.slice(0, 8)}`, 'cause.git')
    const text = await readFileAt(gitdir, next?.commit_oid ?? '', 'train.py') ?? ''
    expect(text).toContain('QUALITY = 1.0')
    expect(text).toContain('BONUS = 0.2')
    // The find made on the rejected candidate changed its line: it cannot go on the best without it, and never merges.
    await net.verifyAll()
    expect(store.candidates().filter((c) => c.state === 'merged').map((c) => c.origin_seq ?? c.seq)).not.toContain(child.seq)
    expect(await readFileAt(homePaths(net.home).gitdir, net.best, 'train.py')).toContain('QUALITY = 1.0')
  })

  it('still sends a later find alone on the best when its find on the candidate was refused (another key sent those files first)', async () => {
    const { net: n, initial, pending } = await withPending()
    net = n
    const store = net.running.coordinator.store
    const parent = store.candidate(pending)?.commit_oid as string
    // Another key already sent, on top of the pending candidate, the very files the worker's first find will have.
    const first = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.25), { claimedMetric: 0.75, parent })
    const identity = Identity.generate()
    const { worker: w, events } = await worker(net, identity, [
      { edit: setConstant('QUALITY', 0.25), description: 'QUALITY 0.5 -> 0.25' },
      { edit: setConstant('BONUS', 0.2), description: 'BONUS 0.5 -> 0.2' }
    ])
    await w.run({ maxExperiments: 2 })
    const log = JSON.stringify(events.filter((e) => e.type !== 'phase'))
    expect(events.find((e) => e.type === 'submit-failed'), log).toMatchObject({ error: 'DuplicateTreeError', message: expect.stringContaining(`#${first}`) })
    // The BONUS find went out alone on the best, without the pending candidate's change.
    const mine = store.candidates().filter((c) => c.submitter === identity.publicKey)
    expect(mine.map((c) => c.parent_oid), log).toEqual([initial])
    const text = await readFileAt(join(net.scratch, `worker-${identity.publicKey.slice(0, 8)}`, 'cause.git'), mine[0]!.commit_oid, 'train.py') ?? ''
    expect(text).toContain('QUALITY = 1.0')
    expect(text).toContain('BONUS = 0.2')
  })

  it('costs a worker one run when the claim is inflated: it is measured once, set aside, and the search goes on on the best', async () => {
    net = await TestNetwork.start(PENDING)
    const initial = net.best
    // SALT changes nothing but the run's own noise: a claim of 0.5 where about 1.5 is the truth.
    const inflated = await net.submitEdit(Identity.generate(), setConstant('SALT', 7), { claimedMetric: 0.5 })
    const identity = Identity.generate()
    const { worker: w, events } = await worker(net, identity, [
      { edit: setConstant('BONUS', 0.2), description: 'BONUS 0.5 -> 0.2' },
      { edit: setConstant('QUALITY', 0.9), description: 'QUALITY 1.0 -> 0.9' }
    ])
    await w.run({ maxExperiments: 2 })
    const log = JSON.stringify(events.filter((e) => e.type !== 'phase'))
    expect(events.filter((e) => e.type === 'pending-measured'), log).toEqual([expect.objectContaining({ seq: inflated, adopted: false })])
    expect(events.filter((e) => e.type === 'measuring' && e.what === 'pending')).toHaveLength(1)
    const mine = net.running.coordinator.store.candidates().filter((c) => c.submitter === identity.publicKey)
    expect(mine.length, log).toBeGreaterThan(0)
    expect(mine[0]?.parent_oid).toBe(initial)
  })

  it('is refused to a worker of a cause that does not declare it: another key\'s candidate is no parent there', async () => {
    net = await TestNetwork.start(NOISY)
    const pending = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.5), { claimedMetric: 1.0 })
    const identity = Identity.generate()
    const { worker: w, events } = await worker(net, identity, [{ edit: setConstant('BONUS', 0.2), description: 'BONUS 0.5 -> 0.2' }])
    expect((await (await net.client(identity)).history(net.best)).pending).toBeUndefined()
    await w.run({ maxExperiments: 1 })
    expect(events.some((e) => e.type === 'pending-measured')).toBe(false)
    const mine = net.running.coordinator.store.candidates().filter((c) => c.submitter === identity.publicKey)
    expect(mine.map((c) => c.parent_oid)).toEqual([net.running.coordinator.store.candidate(pending)?.parent_oid])
  })
})
