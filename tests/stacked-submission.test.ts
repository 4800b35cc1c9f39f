/**
 * A worker's later find that needs its earlier one (the same constant moved again) goes on
 * top of its own pending candidate instead of carrying the whole chain on the best, where it
 * conflicted with the earlier one as soon as that merged and went stale (a lone worker lost 9
 * or 10 of 25 submissions a race that way in the scaling bench). Only a submitter's own
 * candidate can be built on.
 */
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { commitWithChanges, Identity, packForSubmission, readFileAt, sha256Hex } from '@autoresearch/protocol'
import { Worker, type WorkerEvent } from 'autoresearch-worker'
import { ROOT } from './processes.ts'
import { scriptedAgent, setConstant, TestNetwork } from './network.ts'

const NOISY = join(ROOT, 'tests', 'fixtures', 'noisy-cause')

describe('a find on top of the same worker\'s pending candidate', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  it('is sent on that candidate, waits for it, and merges right after it with its own gain, never stale', async () => {
    net = await TestNetwork.start(NOISY)
    const identity = Identity.generate()
    const stateDir = join(net.scratch, 'worker')
    const client = await net.client(identity)
    // Nothing is verified while the worker runs: #1 (QUALITY 0.5) is pending when QUALITY 0.25 is kept.
    const worker = new Worker({
      client, identity, stateDir, lookahead: false,
      agent: scriptedAgent([
        { edit: setConstant('QUALITY', 0.5), description: 'QUALITY 1.0 -> 0.5' },
        { edit: setConstant('QUALITY', 0.25), description: 'QUALITY 0.5 -> 0.25' }
      ])
    })
    const events: WorkerEvent[] = []
    worker.on('event', (e) => events.push(e))
    await worker.run({ maxExperiments: 2 })
    const log = JSON.stringify(events.filter((e) => e.type !== 'phase'))
    const store = net.running.coordinator.store
    const initial = net.best
    expect(events.flatMap((e) => e.type === 'submitted' ? [e.receipt.candidateSeq] : []), log).toEqual([1, 2])
    const [first, second] = [store.candidate(1), store.candidate(2)]
    expect(first?.parent_oid).toBe(initial)
    expect(second?.parent_oid).toBe(first?.commit_oid)
    expect(second?.description).toBe('QUALITY 0.5 -> 0.25')
    // The volunteer is told so ("on top of your pending candidate …").
    expect(events.find((e) => e.type === 'submitted' && e.receipt.candidateSeq === 2)).toMatchObject({ on: first?.commit_oid })
    const gitdir = join(stateDir, 'cause.git')
    expect(await readFileAt(gitdir, second?.commit_oid ?? '', 'train.py')).toBe(setConstant('QUALITY', 0.25)(await readFileAt(gitdir, initial, 'train.py') ?? ''))

    // The public site says what it waits for.
    const page = await (await fetch(`${net.running.httpUrl}/candidates/2`)).text()
    expect(page).toContain('Waiting for the candidate it builds on')
    expect(page).toContain('candidate #1')
    expect(await (await fetch(`${net.running.httpUrl}/api/candidates/2`)).json()).toMatchObject({ waitsFor: 1 })

    // One verifier: #1 first (#2 is not on the best, and is not carried there meanwhile), then #2 on it.
    await net.verifyAll()
    expect([net.state(1), net.state(2)]).toEqual(['merged', 'merged'])
    const merges = store.merges().filter((m) => m.kind === 'merge')
    expect(merges.map((m) => m.candidate_seq)).toEqual([1, 2])
    expect(merges[1]?.parent_oid).toBe(first?.commit_oid)
    // Its verified gain is measured against #1: about 0.25 (QUALITY 0.5 -> 0.25), not #1's 0.5 as well.
    const [m1, m2] = merges.map((m) => ({ metric: m.metric ?? NaN, baseline: m.baseline_metric ?? NaN }))
    expect(m2!.baseline - m2!.metric).toBeGreaterThan(0.15)
    expect(m2!.baseline - m2!.metric).toBeLessThan(0.35)
    expect(Math.abs(m2!.baseline - m1!.metric)).toBeLessThan(0.1)
    // The best fast-forwarded to #2's own commit: QUALITY 0.25 is the network's.
    expect(net.best).toBe(second?.commit_oid)
  })

  it('goes on top of it when the best moved and the coordinator carried it, waits for the carried copy, and merges after it', async () => {
    net = await TestNetwork.start(NOISY)
    const identity = Identity.generate()
    const stateDir = join(net.scratch, 'worker')
    const worker = new Worker({
      client: await net.client(identity), identity, stateDir, lookahead: false,
      agent: scriptedAgent([
        { edit: setConstant('QUALITY', 0.5), description: 'QUALITY 1.0 -> 0.5' },
        { edit: setConstant('QUALITY', 0.25), description: 'QUALITY 0.5 -> 0.25' }
      ])
    })
    const events: WorkerEvent[] = []
    worker.on('event', (e) => events.push(e))
    // Another key's BONUS (a real gain, claimed better) is queued first; the worker sends QUALITY 0.5 (#2).
    const bonus = await net.submitEdit(Identity.generate(), setConstant('BONUS', 0.3), { claimedMetric: 0.5 })
    await worker.run({ maxExperiments: 1 })
    const store = net.running.coordinator.store
    const first = store.candidates().find((c) => c.submitter === identity.publicKey) as { seq: number, commit_oid: string }
    // One job: BONUS merges, and #2 is left on the old best, to be carried.
    await (await net.verifier()).runOnce()
    expect(net.state(bonus)).toBe('merged')
    // The worker follows the new best (its QUALITY 0.5 carried over, still pending) and keeps QUALITY 0.25:
    // that edit needs 0.5, so it goes on top of #2, whatever copy of #2 the coordinator makes.
    await worker.run({ maxExperiments: 2 })
    const log = JSON.stringify(events.filter((e) => e.type !== 'phase'))
    const mine = store.candidates().filter((c) => c.submitter === identity.publicKey && c.origin_seq === null)
    expect(mine.map((c) => c.seq), log).toHaveLength(2)
    const stacked = mine[1] as { seq: number, parent_oid: string, description: string }
    expect(stacked.parent_oid).toBe(first.commit_oid)
    expect(stacked.description).toBe('QUALITY 0.5 -> 0.25')

    await net.verifyAll()
    // #2's copy on the new best merged, then the later find's copy on that: nothing went stale.
    expect(store.candidates().filter((c) => c.state === 'stale')).toEqual([])
    const merged = store.merges().filter((m) => m.kind === 'merge').map((m) => store.candidate(m.candidate_seq ?? 0))
    expect(merged.map((c) => c?.origin_seq ?? c?.seq)).toEqual([bonus, first.seq, stacked.seq])
    const gitdir = join(stateDir, 'cause.git')
    await (await net.client(identity)).sync(gitdir, net.best, [])
    const text = await readFileAt(gitdir, net.best, 'train.py') ?? ''
    expect(text).toContain('QUALITY = 0.25')
    expect(text).toContain('BONUS = 0.3')
  })

  it('is refused on another submitter\'s pending candidate (its find is not anyone else\'s base)', async () => {
    net = await TestNetwork.start(NOISY)
    const owner = Identity.generate()
    const first = await net.submitEdit(owner, setConstant('QUALITY', 0.5))
    const pending = net.running.coordinator.store.candidate(first)?.commit_oid as string
    // The other key has the pending commit's objects (copied from the owner's repository), and builds on it.
    const gitdir = join(net.scratch, `repo-${owner.publicKey.slice(0, 8)}.git`)
    const commit = await commitWithChanges(gitdir, pending, { 'train.py': setConstant('BONUS', 0.2)(await readFileAt(gitdir, pending, 'train.py') ?? '') }, 'on top of yours')
    const submit = async (identity: Identity): Promise<number> => {
      const client = await net!.client(identity)
      const fields = { causeId: net!.running.coordinator.causeId, parent: pending, candidate: commit, claimedMetric: 1.2, logDigest: sha256Hex(''), description: 'on top of #1' }
      return (await client.submit(identity, fields, await packForSubmission(gitdir, commit, pending))).receipt.candidateSeq
    }
    await expect(submit(Identity.generate())).rejects.toMatchObject({ name: 'UnknownParentError', message: expect.stringContaining('nor a candidate of yours') })
    expect(net.running.coordinator.store.candidates()).toHaveLength(1)
    // Its owner may.
    expect(await submit(owner)).toBe(first + 1)
    expect(net.running.coordinator.store.candidate(first + 1)).toMatchObject({ parent_oid: pending, state: 'queued' })
  })
})
