import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { CoordinatorClient, createNode, Identity, type LeaseReply } from '@autoresearch/protocol'
import { Verifier } from 'autoresearch-verifier'
import { ROOT } from './processes.ts'
import { causeWith, setConstant, TestNetwork } from './network.ts'
import { until } from './until.ts'

const NOISY = join(ROOT, 'tests', 'fixtures', 'noisy-cause')
/** The same cause, its rounds spread over the verifiers waiting for work. */
const SPLIT = causeWith(NOISY, { splitRounds: true })
const HARDWARE = { class: 'test', cpus: 1, gpus: [] }

/** Counts the lease requests a client sends. */
function countLeases (client: CoordinatorClient): { count: number } {
  const tally = { count: 0 }
  const lease = client.lease.bind(client)
  client.lease = async (...args) => { tally.count++; return await lease(...args) }
  return tally
}

/**
 * A network whose allowlist holds `keys` too (and its config `opts.config`), each with one
 * lease request held after `opts.before`, in the order of `keys` (the first waited longest),
 * and a count of the lease handler's looks at the queue from then on (each starts with rebaseStale).
 */
async function heldInOrder (cause: string, keys: Identity[], opts: { config?: Record<string, unknown>, before?: (net: TestNetwork) => Promise<void> } = {}): Promise<{ net: TestNetwork, replies: Array<Promise<LeaseReply>>, looks: () => number }> {
  const net = await TestNetwork.start(cause, (config) => ({ ...opts.config, verifiers: [...config.verifiers, ...keys.map((k) => k.publicKey)] }))
  await opts.before?.(net)
  const { coordinator } = net.running
  const replies: Array<Promise<LeaseReply>> = []
  for (const key of keys) {
    replies.push((await net.client(key)).lease(key, coordinator.causeId, HARDWARE, { waitMs: 15_000 }))
    await until(() => coordinator.leaseHolds.waiting === replies.length, `${replies.length} held requests wait`)
  }
  let looks = 0
  const rebaseStale = coordinator.rebaseStale.bind(coordinator)
  coordinator.rebaseStale = async (limit) => { looks++; return await rebaseStale(limit) }
  return { net, replies, looks: () => looks }
}

describe('push, not poll: held lease requests and warm baselines', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  it('a held lease request receives the job when a submission arrives, with no request in between', async () => {
    net = await TestNetwork.start(NOISY)
    const client = await net.client(net.verifierIdentity)
    const leases = countLeases(client)
    const verifier = new Verifier({ client, identity: net.verifierIdentity, stateDir: join(net.scratch, 'v'), baselineCache: false })
    const working = verifier.run({ maxJobs: 1 })
    await until(() => net!.running.coordinator.leaseHolds.held === 1, 'the lease is held')
    const seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8))
    expect(await working).toBe(1)
    expect(leases.count).toBe(1)
    expect(net.state(seq)).toBe('merged')
    expect(net.running.coordinator.leaseHolds.held).toBe(0)
  })

  it('without split rounds a submission wakes one held request; the key it wakes passes its own candidate on to the next', async () => {
    const [a, b, c] = [Identity.generate(), Identity.generate(), Identity.generate()]
    const held = await heldInOrder(NOISY, [a, b, c])
    net = held.net
    const seq = await net.submitEdit(a, setConstant('QUALITY', 0.8))
    // a waited longest and was woken first; its own candidate went on to b, whole. c was never woken.
    const fromB = await held.replies[1]!
    expect(fromB.job?.candidateSeq).toBe(seq)
    expect(fromB.job?.seeds.length).toBe(5)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(held.looks()).toBe(2)
    expect(net.running.coordinator.leaseHolds.waiting).toBe(2)
    await net.running.stop()
    expect((await held.replies[0]!).job).toBeNull()
    expect((await held.replies[2]!).job).toBeNull()
    await net.serveAgain()
  })

  it('with split rounds a submission wakes one held request, not all; its author passes it on, and the round is shared by those waiting', async () => {
    const keys = Array.from({ length: 7 }, () => Identity.generate())
    const held = await heldInOrder(SPLIT, keys)
    net = held.net
    const seq = await net.submitEdit(keys[0]!, setConstant('QUALITY', 0.8))
    // keys[0] waited longest and was woken; its own candidate went on to keys[1], which took
    // one of the round's 5 pairs and passed the rest on, and so on: 5 jobs, one pair each.
    const jobs = await Promise.all(held.replies.slice(1, 6))
    expect(jobs.map((r) => r.job?.candidateSeq)).toEqual([seq, seq, seq, seq, seq])
    const seeds = jobs.flatMap((r) => r.job?.seeds ?? [])
    expect(new Set(seeds).size).toBe(5)
    expect(net.state(seq)).toBe('verifying')
    await new Promise((resolve) => setTimeout(resolve, 300))
    // The last key was never woken.
    expect(held.looks()).toBe(6)
    expect(net.running.coordinator.leaseHolds.waiting).toBe(2)
    await net.running.stop()
    expect((await held.replies[0]!).job).toBeNull()
    expect((await held.replies[6]!).job).toBeNull()
    await net.serveAgain()
  })

  it('with split rounds a new best wakes every held request at once, and the first to look still shares the round with the others', async () => {
    const keys = Array.from({ length: 3 }, () => Identity.generate())
    const held = await heldInOrder(SPLIT, keys)
    net = held.net
    const holds = net.running.coordinator.leaseHolds
    // The candidate comes in unseen (its receipt wakes no one), then every request is woken, as a merge wakes them.
    const wake = holds.wake.bind(holds)
    holds.wake = () => {}
    const seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8))
    holds.wake = wake
    expect(holds.waiting).toBe(3)
    holds.wake()
    // None waits while they look in turn; each counts the others without a job. Before, the
    // first took all 5 pairs and the other two waited out their holds.
    const jobs = await Promise.all(held.replies)
    expect(jobs.map((r) => r.job?.candidateSeq)).toEqual([seq, seq, seq])
    expect(jobs.map((r) => r.job?.seeds.length)).toEqual([2, 2, 1])
    expect(new Set(jobs.flatMap((r) => r.job?.seeds ?? [])).size).toBe(5)
    expect(holds.held).toBe(0)
  })

  it('with split rounds a round\'s first part is shared with a busy verifier too, which takes the rest when it asks again, before a newer candidate', async () => {
    const [a, b] = [Identity.generate(), Identity.generate()]
    net = await TestNetwork.start(SPLIT, () => ({ verifiers: [a.publicKey, b.publicKey] }))
    const { causeId } = net.running.coordinator
    const [fromA, fromB] = [await net.client(a), await net.client(b)]
    // b is busy: it holds the whole round of the first candidate (nobody else wanted work).
    const first = await net.submitEdit(Identity.generate(), setConstant('BONUS', 0.3))
    expect((await fromB.lease(b, causeId, HARDWARE)).job).toMatchObject({ candidateSeq: first, seeds: expect.any(Array) })
    // a asks for the next: it takes 3 of its 5 pairs, not all 5 one after another (as before, with nobody waiting).
    const seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8), { claimedMetric: 1.2 })
    const jobA = (await fromA.lease(a, causeId, HARDWARE)).job
    expect(jobA?.candidateSeq).toBe(seq)
    expect(jobA?.seeds).toHaveLength(3)
    expect(net.state(seq)).toBe('queued')
    // A newer candidate with a better claim arrives; b, back for more, still takes the rest of the round begun.
    await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.7), { claimedMetric: 1.0 })
    const jobB = (await fromB.lease(b, causeId, HARDWARE)).job
    expect(jobB?.candidateSeq).toBe(seq)
    expect(new Set([...jobA!.seeds, ...jobB!.seeds]).size).toBe(5)
    expect(net.state(seq)).toBe('verifying')
  })

  it('a lease that runs out wakes one held request, not all, and its candidate is leased again at once', async () => {
    const keys = Array.from({ length: 5 }, () => Identity.generate())
    let seq = 0
    let ends = 0
    // Every key waits while the host's verifier holds the only job, on a 3-s lease it lets run out.
    const held = await heldInOrder(NOISY, keys, {
      config: { leaseSeconds: 3 },
      before: async (net) => {
        seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8))
        const { job } = await (await net.client(net.verifierIdentity)).lease(net.verifierIdentity, net.running.coordinator.causeId, HARDWARE)
        expect(job?.candidateSeq).toBe(seq)
        ends = job!.leaseExpiresAt
      }
    })
    net = held.net
    expect(Date.now()).toBeLessThan(ends)
    // The key that waited longest takes the job back when the lease ends, not when its 20-s hold does
    // (the code before the expiry timer: 12 s late); the other four never look.
    const first = await held.replies[0]!
    expect(first.job?.candidateSeq).toBe(seq)
    expect(Date.now() - ends).toBeLessThan(8_000)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(held.looks()).toBe(1)
    expect(net.running.coordinator.leaseHolds.waiting).toBe(4)
    await net.running.stop()
    for (const reply of held.replies.slice(1)) expect((await reply).job).toBeNull()
    await net.serveAgain()
  })

  it('a round shared by two verifiers is decided on both parts, each pair measured by one of them in the sandbox', async () => {
    const [a, b] = [Identity.generate(), Identity.generate()]
    net = await TestNetwork.start(SPLIT, () => ({ verifiers: [a.publicKey, b.publicKey] }))
    const holds = net.running.coordinator.leaseHolds
    const start = async (key: Identity, n: number): Promise<{ done: Promise<number> }> => {
      const verifier = new Verifier({ client: await net!.client(key), identity: key, stateDir: join(net!.scratch, key.publicKey.slice(0, 8)), baselineCache: false })
      const done = verifier.run({ maxJobs: 1 })
      await until(() => holds.waiting === n, `${n} verifiers wait`)
      return { done }
    }
    const working = [(await start(a, 1)).done, (await start(b, 2)).done]
    const seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8))
    expect(await Promise.all(working)).toEqual([1, 1])
    expect(net.state(seq)).toBe('merged')
    const attestations = net.running.coordinator.store.attestationsFor(seq)
    expect(attestations.map((x) => x.verifier).sort()).toEqual([a.publicKey, b.publicKey].sort())
    // Five pairs in all, no seed twice: 3 measured by the first woken, 2 by the other.
    const seeds = attestations.flatMap((x) => x.body.trials.map((t) => t.seed))
    expect(seeds.length).toBe(5)
    expect(new Set(seeds).size).toBe(5)
    expect(attestations.map((x) => x.body.trials.length).sort()).toEqual([2, 3])
  })

  it('a quiet best is warmed by one idle verifier, not all, and a submission goes to the warm one first', async () => {
    const [a, b] = [Identity.generate(), Identity.generate()]
    net = await TestNetwork.start(SPLIT, (config) => ({ verifiers: [...config.verifiers, a.publicKey, b.publicKey] }))
    const holds = net.running.coordinator.leaseHolds
    const { causeId } = net.running.coordinator
    const [fromA, fromB] = [await net.client(a), await net.client(b)]
    expect((await fromA.lease(a, causeId, HARDWARE, { warm: true })).warm?.best).toBe(net.best)
    // The best has had no job yet: one warm verifier in reserve is enough.
    expect((await fromB.lease(b, causeId, HARDWARE, { warm: true })).warm).toBeUndefined()
    // b begins to wait first, then a, which has the pool's baselines.
    const heldB = fromB.lease(b, causeId, HARDWARE, { waitMs: 15_000, warm: true })
    await until(() => holds.waiting === 1, 'b waits')
    const heldA = fromA.lease(a, causeId, HARDWARE, { waitMs: 15_000, warm: true, warmBest: net.best })
    await until(() => holds.waiting === 2, 'a waits')
    const seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8))
    // a was woken first and took the larger share of the round's 5 pairs; b, woken by a, the rest.
    const [jobA, jobB] = [(await heldA).job, (await heldB).job]
    expect(jobA?.candidateSeq).toBe(seq)
    expect(jobA?.seeds.length).toBe(3)
    expect(jobB?.candidateSeq).toBe(seq)
    expect(jobB?.seeds.length).toBe(2)
  })

  it('a held request whose peer goes away lets its place go at once', async () => {
    net = await TestNetwork.start(NOISY)
    const holds = net.running.coordinator.leaseHolds
    const node = await createNode({ identity: net.verifierIdentity })
    const client = new CoordinatorClient(node, net.address)
    const held = client.lease(net.verifierIdentity, net.running.coordinator.causeId, HARDWARE, { waitMs: 15_000 }).catch((err: Error) => err)
    await until(() => holds.held === 1, 'the request is held')
    const gone = Date.now()
    await node.stop()
    await until(() => holds.held === 0, 'its place is free', 5_000)
    expect(Date.now() - gone).toBeLessThan(5_000)
    expect(await held).toBeInstanceOf(Error)
  })

  it('a held request ends when the verifier aborts and when the coordinator stops; a peer holds at most four', async () => {
    net = await TestNetwork.start(NOISY)
    const holds = net.running.coordinator.leaseHolds
    const client = await net.client(net.verifierIdentity)
    const { causeId } = net.running.coordinator

    const controller = new AbortController()
    const verifier = new Verifier({ client, identity: net.verifierIdentity, stateDir: join(net.scratch, 'v'), baselineCache: false })
    const working = verifier.run({ signal: controller.signal })
    await until(() => holds.held === 1, 'the verifier\'s lease is held')
    controller.abort()
    expect(await working).toBe(0)

    const held = Array.from({ length: 3 }, async () => await client.lease(net!.verifierIdentity, causeId, HARDWARE, { waitMs: 15_000 }))
    // The aborted request may still count on the coordinator's side until its wait ends.
    await until(() => holds.held >= 3, 'three more are held')
    const extra = Array.from({ length: 2 }, async () => await client.lease(net!.verifierIdentity, causeId, HARDWARE, { waitMs: 15_000 }))
    const outcomes = await Promise.allSettled(extra)
    expect(outcomes.some((o) => o.status === 'rejected' && (o.reason as Error).name === 'QuotaExceededError')).toBe(true)

    const stopped = Date.now()
    await net.running.stop()
    await Promise.allSettled(held)
    expect(Date.now() - stopped).toBeLessThan(10_000)
    await net.serveAgain()
  })

  it('only a key that counts learns the pool; a verifier warms it while idle, so the job runs only candidates', async () => {
    net = await TestNetwork.start(NOISY)
    const { coordinator } = net.running
    coordinator.store.setSeedPool(net.best, [21, 22, 23, 24, 25])
    const client = await net.client(net.verifierIdentity)
    expect((await client.lease(net.verifierIdentity, coordinator.causeId, HARDWARE)).warm).toBeUndefined()
    expect((await client.lease(net.verifierIdentity, coordinator.causeId, HARDWARE, { warm: true })).warm).toEqual({ best: net.best, seeds: [21, 22, 23, 24, 25] })

    const verifier = new Verifier({ client, identity: net.verifierIdentity, stateDir: join(net.scratch, 'v') })
    const working = verifier.run({ maxJobs: 1 })
    await until(() => verifier.warmStats.runs === 5, 'the five pooled baselines are warm', 120_000)
    const seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8))
    expect(await working).toBe(1)
    expect(verifier.cacheStats).toEqual({ hits: 5, misses: 0 })
    expect(net.state(seq)).toBe('merged')
  })

  it('a key on probation (open verification) is not told the pool', async () => {
    net = await TestNetwork.start(NOISY, { verifierMode: 'open' })
    const stranger = Identity.generate()
    const reply = await (await net.client(stranger)).lease(stranger, net.running.coordinator.causeId, HARDWARE, { warm: true })
    expect(reply.warm).toBeUndefined()
    const host = await (await net.client(net.verifierIdentity)).lease(net.verifierIdentity, net.running.coordinator.causeId, HARDWARE, { warm: true })
    expect(host.warm?.seeds.length).toBeGreaterThan(0)
  })
})
