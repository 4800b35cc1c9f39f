/**
 * Batches (docs/trust.md, "Batches"; coordinator/src/batch.ts, rules/batch.ts): queued
 * candidates on the best, never verified, from keys with a verified merge, are combined into
 * one group commit and verified once. Real coordinator, libp2p and git; the verdicts that set
 * the scene are given (as in tests/merge-groups.test.ts), the batch's own is measured in the
 * sandbox by a real verifier.
 */
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { describeHardware, Identity, readFileAt, type Job } from '@autoresearch/protocol'
import { credits, describeEvent, type CoordinatorEvent } from 'autoresearch-coordinator'
import { Verifier } from 'autoresearch-verifier'
import { NOISY } from './adversarial/arena.ts'
import { causeWith, givenTrials, setConstant, TestNetwork } from './network.ts'


const hardware = describeHardware()
const BATCHED = causeWith(NOISY, { batch: { size: 4 } })
const PIPELINED = causeWith(NOISY, { batch: { size: 4 }, speculation: { window: 2 } })

function verifierOps (net: TestNetwork): { lease: () => Promise<Job | null>, attest: (job: Job, gain: number) => Promise<string> } {
  const { causeId } = net.running.coordinator
  const who = net.verifierIdentity
  return {
    lease: async () => (await (await net.client(who)).lease(who, causeId, hardware)).job,
    attest: async (job, gain) => (await (await net.client(who)).attest(who, { causeId, jobId: job.jobId, candidate: job.candidate, baseline: job.baseline, trials: givenTrials(job, gain), hardware })).verdict.state
  }
}

/** Fresh keys each get a verified merge of their own (one per edit): a key's first candidate is verified alone, never in a batch. */
async function trustedAuthors (net: TestNetwork, edits = [setConstant('SALT', 7), setConstant('QUALITY', 0.9)]): Promise<Identity[]> {
  const authors = edits.map(() => Identity.generate())
  const store = net.running.coordinator.store
  const first: number[] = []
  for (const [i, edit] of edits.entries()) first.push(await net.submitEdit(authors[i] as Identity, edit, { claimedMetric: 1.0 + i / 10 }))
  const ops = verifierOps(net)
  for (const seq of first) {
    const job = await ops.lease() as Job
    // Alone: its own seq, or the coordinator's rebase of it onto the best the ones before made.
    expect(store.candidate(job.candidateSeq)?.origin_seq ?? job.candidateSeq).toBe(seq)
    expect(store.groupMembers(job.candidateSeq)).toEqual([])
    expect(await ops.attest(job, 0.1)).toBe('accepted')
  }
  for (const a of authors) expect(store.identity(a.publicKey).accepted).toBe(1)
  return authors
}

describe('batches', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  it('verifies two compatible queued candidates once, as one batch, merges both and credits each author an equal share of its verified gain', async () => {
    net = await TestNetwork.start(BATCHED)
    const store = net.running.coordinator.store
    const [a, b] = await trustedAuthors(net) as [Identity, Identity]
    const before = net.best
    const fresh = Identity.generate()
    const mine = [
      await net.submitEdit(a, setConstant('BONUS', 0.3), { claimedMetric: 1.0 }),
      await net.submitEdit(b, setConstant('QUALITY', 0.8), { claimedMetric: 1.05 })
    ]
    // A key without a verified merge is left out of the batch: it is verified alone.
    const outsider = await net.submitEdit(fresh, setConstant('SALT', 9), { claimedMetric: 1.1 })

    // One real verification, in the sandbox: the verifier's lease makes the batch.
    const events: CoordinatorEvent[] = []
    net.running.coordinator.on('event', (e) => events.push(e))
    const verifier = new Verifier({ client: await net.client(net.verifierIdentity), identity: net.verifierIdentity, stateDir: join(net.scratch, 'v') })
    expect(await verifier.runOnce()).toBe(0)
    const groupSeq = store.lastGroupOf(mine[0] as number) as number
    expect(groupSeq).toBeDefined()
    // The operator's terminal and the site's stream hear of it once, as a batch.
    const grouped = events.filter((e) => e.type === 'grouped')
    expect(grouped).toEqual([{ type: 'grouped', groupSeq, members: mine, kind: 'batch' }])
    expect(describeEvent(grouped[0] as CoordinatorEvent)).toBe(`candidates #${mine[0]}, #${mine[1]} combined into batch #${groupSeq}, verified once for all of them`)
    expect(store.groupMembers(groupSeq).map((m) => m.seq)).toEqual(mine)
    expect(store.jobsFor(groupSeq)).toHaveLength(1)
    for (const seq of mine) expect(store.jobsFor(seq)).toEqual([])
    expect(net.state(groupSeq)).toBe('merged')
    expect(net.best).toBe(store.candidate(groupSeq)?.commit_oid)
    for (const seq of mine) expect(net.running.coordinator.candidateStatus(seq)).toMatchObject({ state: 'rebased', rebasedAs: groupSeq })
    const text = await readFileAt(net.running.coordinator.paths.gitdir, net.best, 'train.py') as string
    expect(text).toMatch(/^BONUS = 0\.3$/m)
    expect(text).toMatch(/^QUALITY = 0\.8$/m)
    expect(text).not.toMatch(/^SALT = 9$/m)
    expect(store.lastGroupOf(outsider)).toBeUndefined()

    // Credit: each author's first merge (0.1 given, less the given spread) plus half of the batch's measured gain.
    const merge = store.standingMerges().at(-1)
    expect(merge).toMatchObject({ candidate_seq: groupSeq, parent_oid: before })
    const batchGain = (merge?.baseline_metric as number) - (merge?.metric as number)
    expect(batchGain).toBeGreaterThan(0.2)
    const byKey = new Map(credits(store, net.running.coordinator.manifest).map((c) => [c.publicKey, c]))
    for (const author of [a, b]) {
      expect(byKey.get(author.publicKey)).toMatchObject({ merges: 2, accepted: 2 })
      expect(byKey.get(author.publicKey)?.verifiedGain).toBeCloseTo(0.1 - 0.002 + batchGain / 2, 6)
    }
    expect(byKey.get(net.running.coordinator.identity.publicKey)?.merges ?? 0).toBe(0)
    // The outsider goes on alone, carried onto the new best by the next lease.
    const next = await verifierOps(net).lease() as Job
    expect(store.candidate(next.candidateSeq)).toMatchObject({ origin_seq: outsider, parent_oid: net.best })
    expect(store.groupMembers(next.candidateSeq)).toEqual([])
  })

  it('a batch that fails is split: its members are queued again, charged nothing, and go on in halves (a half of one alone)', async () => {
    net = await TestNetwork.start(BATCHED)
    const store = net.running.coordinator.store
    const [a, b] = await trustedAuthors(net) as [Identity, Identity]
    const mine = [
      await net.submitEdit(a, setConstant('BONUS', 0.3), { claimedMetric: 1.0 }),
      await net.submitEdit(b, (text) => `${text}\n# a note\n`, { claimedMetric: 1.05 })
    ]
    const ops = verifierOps(net)
    const job = await ops.lease() as Job
    expect(store.groupMembers(job.candidateSeq).map((m) => m.seq)).toEqual(mine)
    expect(await ops.attest(job, -0.1)).toBe('rejected')
    expect(store.candidate(job.candidateSeq)?.reason).toMatch(/the group is split in halves/)
    for (const seq of mine) {
      expect(store.candidate(seq)).toMatchObject({ state: 'queued', verdict: null })
      expect(net.running.coordinator.candidateStatus(seq)).toMatchObject({ state: 'queued', rebasedAs: null })
    }
    for (const author of [a, b]) expect(store.identity(author.publicKey).rejected).toBe(0)
    // The failed batch is closed, but its members' changes are still to be verified: the site does not show them through it.
    expect(await net.publicCandidate(job.candidateSeq)).toMatchObject({ diff: null, diffHidden: expect.any(String) })
    // Halves of two: each member is verified alone, in queue order.
    const first = await ops.lease() as Job
    expect(first.candidateSeq).toBe(mine[0])
    expect(await ops.attest(first, 0.2)).toBe('accepted')
    // The rest, carried onto the best the first half made, is the failed batch's tree again: still its own change, verified.
    const second = await ops.lease() as Job
    expect(store.candidate(second.candidateSeq)?.origin_seq).toBe(mine[1])
    expect(store.groupMembers(second.candidateSeq)).toEqual([])
    expect(await ops.attest(second, -0.1)).toBe('rejected')
    expect(store.identity(b.publicKey).rejected).toBe(1)
  })
  it('with speculation, a batch goes on top of the candidate being verified, measured against it, and merges right after it', async () => {
    const second = Identity.generate()
    net = await TestNetwork.start(PIPELINED, (c) => ({ verifiers: [...c.verifiers, second.publicKey] }))
    const store = net.running.coordinator.store
    const [a, b, c] = await trustedAuthors(net, [setConstant('SALT', 7), setConstant('QUALITY', 0.9), setConstant('BONUS', 0.4)]) as [Identity, Identity, Identity]
    const { causeId } = net.running.coordinator
    const lease = async (who: Identity): Promise<Job> => (await (await net!.client(who)).lease(who, causeId, hardware)).job as Job
    const attest = async (who: Identity, job: Job, gain: number): Promise<string> => (await (await net!.client(who)).attest(who, { causeId, jobId: job.jobId, candidate: job.candidate, baseline: job.baseline, trials: givenTrials(job, gain), hardware })).verdict.state
    const start = net.best
    // A is alone in the queue: the host's verifier leases it on the best.
    const first = await net.submitEdit(a, setConstant('QUALITY', 0.8), { claimedMetric: 0.9 })
    const jobA = await lease(net.verifierIdentity)
    expect(jobA).toMatchObject({ candidateSeq: first, baseline: start })
    // B and C come while A is verified: the second verifier gets them as one batch on top of A.
    const mine = [
      await net.submitEdit(b, setConstant('BONUS', 0.3), { claimedMetric: 1.0 }),
      await net.submitEdit(c, setConstant('SALT', 9), { claimedMetric: 1.05 })
    ]
    const jobB = await lease(second)
    const aCommit = store.candidate(first)?.commit_oid as string
    expect(jobB.baseline).toBe(aCommit)
    expect(store.groupMembers(jobB.candidateSeq).map((m) => m.seq)).toEqual(mine)
    expect(store.candidate(jobB.candidateSeq)?.parent_oid).toBe(aCommit)
    // The batch passes first: it waits for A, then merges without another job.
    expect(await attest(second, jobB, 0.3)).toBe('pending')
    expect(net.state(jobB.candidateSeq)).toBe('passed')
    expect(await attest(net.verifierIdentity, jobA, 0.2)).toBe('accepted')
    expect(net.state(jobB.candidateSeq)).toBe('merged')
    expect(store.jobsFor(jobB.candidateSeq)).toHaveLength(1)
    const text = await readFileAt(net.running.coordinator.paths.gitdir, net.best, 'train.py') as string
    expect(text).toMatch(/^QUALITY = 0\.8$/m)
    expect(text).toMatch(/^BONUS = 0\.3$/m)
    expect(text).toMatch(/^SALT = 9$/m)
    // B's and C's authors share the batch's gain measured against A.
    const byKey = new Map(credits(store, net.running.coordinator.manifest).map((x) => [x.publicKey, x]))
    expect(byKey.get(b.publicKey)?.merges).toBe(2)
    expect(byKey.get(b.publicKey)?.verifiedGain).toBeCloseTo(byKey.get(c.publicKey)?.verifiedGain as number, 9)
  })
})
