import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Identity, type CoordinatorClient, type LeaseReply } from '@autoresearch/protocol'
import { Verifier } from 'autoresearch-verifier'
import { ROOT } from './processes.ts'
import { setConstant, TestNetwork } from './network.ts'

const NOISY = join(ROOT, 'tests', 'fixtures', 'noisy-cause')
const HARDWARE = { class: 'test', cpus: 1, gpus: [] }

async function until (condition: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Counts the lease requests a client sends. */
function countLeases (client: CoordinatorClient): { count: number } {
  const tally = { count: 0 }
  const lease = client.lease.bind(client)
  client.lease = async (...args) => { tally.count++; return await lease(...args) }
  return tally
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

  it('a submission wakes one held request, not all; the key it wakes passes its own candidate on to the next', async () => {
    const [a, b, c] = [Identity.generate(), Identity.generate(), Identity.generate()]
    net = await TestNetwork.start(NOISY, (config) => ({ verifiers: [...config.verifiers, a.publicKey, b.publicKey, c.publicKey] }))
    const holds = net.running.coordinator.leaseHolds
    const { causeId } = net.running.coordinator
    const hold = async (key: Identity, n: number): Promise<{ reply: Promise<LeaseReply> }> => {
      const reply = (await net!.client(key)).lease(key, causeId, HARDWARE, { waitMs: 15_000 })
      await until(() => holds.waiting === n, `${n} held requests wait`)
      return { reply }
    }
    // In the order they began to wait: a, then b, then c.
    const fromA = (await hold(a, 1)).reply
    const fromB = (await hold(b, 2)).reply
    const fromC = (await hold(c, 3)).reply
    // Each look at the queue is one turn of the lease handler, which starts with rebaseStale.
    const { coordinator } = net.running
    let looks = 0
    const rebaseStale = coordinator.rebaseStale.bind(coordinator)
    coordinator.rebaseStale = async (limit) => { looks++; return await rebaseStale(limit) }
    const seq = await net.submitEdit(a, setConstant('QUALITY', 0.8))
    // a waited longest and was woken first; its own candidate went on to b. c was never woken.
    expect((await fromB).job?.candidateSeq).toBe(seq)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(looks).toBe(2)
    expect(holds.waiting).toBe(2)
    await net.running.stop()
    expect((await fromA).job).toBeNull()
    expect((await fromC).job).toBeNull()
    await net.serveAgain()
  })

  it('a quiet best is warmed by one idle verifier, not all, and a submission goes to the warm one first', async () => {
    const [a, b] = [Identity.generate(), Identity.generate()]
    net = await TestNetwork.start(NOISY, (config) => ({ verifiers: [...config.verifiers, a.publicKey, b.publicKey] }))
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
    expect((await heldA).job?.candidateSeq).toBe(seq)
    expect(holds.waiting).toBe(1)
    await net.running.stop()
    expect((await heldB).job).toBeNull()
    await net.serveAgain()
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
