/**
 * A worker's submitted files. "A crash at any point loses nothing": a worker restarted on its
 * state directory remembers the files it already submitted, so it never confirms and sends
 * them again. And files the network never judged (their submission went stale) are sent again.
 */
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { commitTree, Identity, readFileAt } from '@autoresearch/protocol'
import { Worker, type WorkerEvent } from 'autoresearch-worker'
import { ROOT } from './processes.ts'
import { scriptedAgent, setConstant, TestNetwork } from './network.ts'

const NOISY = join(ROOT, 'tests', 'fixtures', 'noisy-cause')

describe('a restarted worker (a crash loses nothing)', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  it('does not confirm or submit again the files it submitted before the restart', async () => {
    net = await TestNetwork.start(NOISY)
    const identity = Identity.generate()
    const stateDir = join(net.scratch, 'worker')
    const client = await net.client(identity)

    // The first worker submits QUALITY (#1); its second proposal waits while #1 is verified and
    // merged, so it keeps BONUS on the old best and submits it (#2) on that best: BONUS alone,
    // what it kept since #1 (operations/delta.ts).
    let merged!: () => void
    let verifyError: unknown
    // Bounded: if #1 never comes, the second proposal goes on and the checks below say why.
    const mergedFirst = Promise.race([new Promise<void>((resolve) => { merged = resolve }), delay(60_000)])
    const first = new Worker({
      client, identity, stateDir, lookahead: false,
      agent: scriptedAgent([
        { edit: setConstant('QUALITY', 0.5), description: 'QUALITY 1.0 -> 0.5' },
        { edit: setConstant('BONUS', 0.2), description: 'BONUS 0.5 -> 0.2', before: mergedFirst }
      ])
    })
    const firstEvents: WorkerEvent[] = []
    first.on('event', (e) => {
      firstEvents.push(e)
      if (e.type === 'submitted' && e.receipt.candidateSeq === 1) {
        void net?.verifyAll().catch((err: unknown) => { verifyError = err }).finally(merged)
      }
    })
    await first.run({ maxExperiments: 2 })
    const submitted = (events: WorkerEvent[]): Array<{ seq: number, tree: string }> => events.flatMap((e) => e.type === 'submitted' ? [{ seq: e.receipt.candidateSeq, tree: e.receipt.tree }] : [])
    expect(verifyError).toBeUndefined()
    expect(net.state(1)).toBe('merged')
    expect(submitted(firstEvents).map((s) => s.seq), JSON.stringify(firstEvents.filter((e) => e.type !== 'phase'))).toEqual([1, 2])
    const gitdir = join(stateDir, 'cause.git')
    const delta = net.running.coordinator.store.candidate(2)
    expect(await readFileAt(gitdir, delta?.commit_oid ?? '', 'train.py')).toBe(setConstant('BONUS', 0.2)(await readFileAt(gitdir, delta?.parent_oid ?? '', 'train.py') ?? ''))
    // Stopped before #2 is decided: it waits, on the old best, for the next lease.
    expect(net.state(2)).toBe('queued')

    // The restart: a new Worker on the same state. Carried onto the new best (#1), its local
    // best is what the coordinator's carry of #2 will be (QUALITY is there already, and BONUS);
    // its own experiment is a discard.
    const second = new Worker({ client, identity, stateDir, lookahead: false, agent: scriptedAgent([{ edit: setConstant('BONUS', 0.9), description: 'BONUS 0.2 -> 0.9' }]) })
    const secondEvents: WorkerEvent[] = []
    second.on('event', (e) => secondEvents.push(e))
    await second.run({ maxExperiments: 3 })
    const carried = secondEvents.find((e) => e.type === 'rebased-local')
    expect(carried, JSON.stringify(secondEvents.filter((e) => e.type !== 'phase'))).toBeDefined()
    const both = (await commitTree(gitdir, carried?.type === 'rebased-local' ? carried.commit : '')).tree
    expect((await readFileAt(gitdir, carried?.type === 'rebased-local' ? carried.commit : '', 'train.py'))).toBe(setConstant('BONUS', 0.2)(await readFileAt(gitdir, net.running.coordinator.bestCommit(), 'train.py') ?? ''))
    expect(secondEvents.filter((e) => e.type === 'experiment').map((e) => e.type === 'experiment' && e.row.status)).toEqual(['discard'])

    // No second confirmation, no second submission, by the worker's count or the coordinator's.
    expect(secondEvents.filter((e) => e.type === 'confirm' || e.type === 'submitted' || e.type === 'submit-failed')).toEqual([])
    expect(second.submissions).toBe(0)
    const sent = net.running.coordinator.store.candidates().filter((c) => c.submitter === identity.publicKey && c.origin_seq === null)
    expect(sent.map((c) => c.seq)).toEqual([1, 2])
    expect(sent.filter((c) => c.tree_oid === both)).toHaveLength(0)
  })
})

describe('a submission that went stale (the network never judged it)', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { vi.useRealTimers(); await net?.stop(); net = undefined })

  // Restarted, the worker still knows which files its pending submission sent (state.json).
  it.each([
    { how: 'by the same process' },
    { how: 'after a restart in between' },
    { how: 'when the carry falls in the second its files were first committed' }
  ])('is sent again by its worker ($how) when carrying its edits onto the new best gives the same files, and merges', async ({ how }) => {
    // The clock stands still (timers run): the carry rebuilds the very commit that was confirmed,
    // which the worker's `tried` then held (it happened on a loaded CI machine).
    if (how.startsWith('when the carry')) vi.useFakeTimers({ toFake: ['Date'], now: Date.now() })
    net = await TestNetwork.start(NOISY)
    const identity = Identity.generate()
    const client = await net.client(identity)
    // #1 sets QUALITY 0.5 (the whole chain); #2 then sends BONUS 0.2 alone, a find on its own
    // (operations/delta.ts). While both are verified and merged the third proposal waits, then
    // moves QUALITY on to 0.25 on the old best: that edit does not apply without #1's, neither on
    // the best nor on top of the last submission, #2 (BONUS alone: where a find that needs the
    // last one goes, delta.ts `onto`), so #4 carries the whole chain. On the new best (#1 and #2) the
    // coordinator's three-way merge of #4 conflicts on QUALITY's line, so #4 goes stale; the
    // worker replays its three edits onto that best and gets #4's files exactly.
    let merged!: () => void
    let verifyError: unknown
    const mergedFirst = Promise.race([new Promise<void>((resolve) => { merged = resolve }), delay(60_000)])
    const stateDir = join(net.scratch, 'worker')
    const steps = [
      { edit: setConstant('QUALITY', 0.5), description: 'QUALITY 1.0 -> 0.5' },
      { edit: setConstant('BONUS', 0.2), description: 'BONUS 0.5 -> 0.2' },
      { edit: setConstant('QUALITY', 0.25), description: 'QUALITY 0.5 -> 0.25', before: mergedFirst },
      { edit: setConstant('BONUS', 0.9), description: 'BONUS 0.2 -> 0.9' }
    ]
    const events: WorkerEvent[] = []
    const record = (e: WorkerEvent): void => {
      events.push(e)
      if (e.type === 'submitted' && e.receipt.candidateSeq === 2) {
        void net?.verifyAll().catch((err: unknown) => { verifyError = err }).finally(merged)
      }
    }
    let worker = new Worker({ client, identity, stateDir, lookahead: false, agent: scriptedAgent(steps) })
    worker.on('event', record)
    await worker.run({ maxExperiments: 3 })
    expect(verifyError).toBeUndefined()
    const log = (): string => JSON.stringify(events.filter((e) => e.type !== 'phase'))
    const receipts = (): Array<{ seq: number, tree: string }> => events.flatMap((e) => e.type === 'submitted' ? [{ seq: e.receipt.candidateSeq, tree: e.receipt.tree }] : [])
    const store = net.running.coordinator.store
    // #3 is the coordinator's carry of #2 onto #1, merged before the third proposal ran.
    expect(receipts().map((r) => r.seq), log()).toEqual([1, 2, 4])
    expect(store.candidate(3)).toMatchObject({ origin_seq: 2, state: 'merged' })
    expect(store.candidate(4)?.parent_oid).toBe(store.candidate(1)?.parent_oid)
    const all = receipts()[2]?.tree as string
    // The next lease turn carries #4 onto the new best: it conflicts.
    await net.verifyAll()
    expect(net.state(4)).toBe('stale')
    const best = net.best

    if (how === 'after a restart in between') {
      // A new process on the same state, on a best that moved while it was down: the old
      // code restored `pending` only on an unchanged best, and knew no pending trees at all.
      worker = new Worker({ client, identity, stateDir, lookahead: false, agent: scriptedAgent(steps.slice(3)) })
      worker.on('event', record)
    }
    // The worker's next step hears it, carries its chain onto the new best (#4's files), and sends them again.
    await worker.run({ maxExperiments: 4 })
    const again = receipts()[3]
    expect(again, log()).toBeDefined()
    expect(again?.tree).toBe(all)
    expect(store.candidate(again?.seq ?? 0)).toMatchObject({ origin_seq: 4, parent_oid: best, state: 'queued' })
    expect(store.candidate(4)).toMatchObject({ state: 'rebased' })
    expect(store.candidate(4)?.reason).toMatch(/carried onto .* by its submitter/)

    // Verified on the new best like any candidate, and merged: QUALITY 0.25 is the network's.
    await net.verifyAll()
    expect(net.state(again?.seq ?? 0)).toBe('merged')
  })
})
