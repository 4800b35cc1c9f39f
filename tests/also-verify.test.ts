import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { describeHardware, Identity } from '@autoresearch/protocol'
import { Verifier } from 'autoresearch-verifier'
import { searchAgent, Worker, type WorkerEvent } from 'autoresearch-worker'
import { ROOT } from './processes.ts'
import { setConstant, TestNetwork } from './network.ts'

const NOISY = join(ROOT, 'tests', 'fixtures', 'noisy-cause')

/** A network whose verifier allowlist holds the host's verifier and `helper`, a worker's key. */
const networkWith = async (helper: Identity): Promise<TestNetwork> => await TestNetwork.start(NOISY, (c) => ({ verifiers: [...c.verifiers, helper.publicKey] }))

describe('a worker that also verifies (--also-verify)', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  it('takes a job only when no verifier waits for one, and never its own candidate', async () => {
    const helper = Identity.generate()
    net = await networkWith(helper)
    const { causeId } = net.running.coordinator
    const hardware = describeHardware()
    const client = await net.client(helper)
    // Its own candidate is never leased to it, helper or not.
    const own = await net.submitEdit(helper, setConstant('QUALITY', 0.8))
    expect((await client.lease(helper, causeId, hardware, { help: true })).job).toBeNull()
    // The host's verifier takes the helper's candidate, then submits one itself: with nothing
    // it may verify, its next request is held, waiting for work.
    const host = await net.client(net.verifierIdentity)
    expect((await host.lease(net.verifierIdentity, causeId, hardware)).job?.candidateSeq).toBe(own)
    await net.submitEdit(net.verifierIdentity, setConstant('QUALITY', 0.7))
    const waiting = host.lease(net.verifierIdentity, causeId, hardware, { waitMs: 3000 })
    for (let i = 0; i < 100 && net.running.coordinator.leaseHolds.held === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(net.running.coordinator.leaseHolds.held).toBe(1)
    // A verifier is waiting: the queue is not deeper than the verifiers can serve.
    expect((await client.lease(helper, causeId, hardware, { help: true })).job).toBeNull()
    expect((await waiting).job).toBeNull()
    // Nobody waits now: the helper takes the host verifier's candidate.
    const { job } = await client.lease(helper, causeId, hardware, { help: true })
    expect(job?.candidateSeq).toBe(own + 1)
  })

  it('a worker with alsoVerify verifies another volunteer\'s candidate before its experiment, and its research goes on', async () => {
    const helper = Identity.generate()
    net = await networkWith(helper)
    const seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8))
    const client = await net.client(helper)
    const verifier = new Verifier({ client, identity: helper, stateDir: join(net.scratch, 'helper', 'verifier'), help: true })
    const attested: number[] = []
    verifier.on('event', (e) => { if (e.type === 'attested') attested.push(e.jobId) })
    const worker = new Worker({ client, identity: helper, agent: searchAgent({ seed: 3 }), stateDir: join(net.scratch, 'helper'), alsoVerify: verifier })
    await worker.run({ maxExperiments: 1 })
    expect(attested).toHaveLength(1)
    expect(net.state(seq)).toBe('merged')
    expect(worker.experiments).toBe(1)
  })

  it('a key the coordinator does not let verify: one clear event, then research only', async () => {
    net = await TestNetwork.start(NOISY)
    await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8))
    const stranger = Identity.generate()
    const client = await net.client(stranger)
    const verifier = new Verifier({ client, identity: stranger, stateDir: join(net.scratch, 'stranger', 'verifier'), help: true })
    const events: WorkerEvent[] = []
    const worker = new Worker({ client, identity: stranger, agent: searchAgent({ seed: 3 }), stateDir: join(net.scratch, 'stranger'), alsoVerify: verifier })
    worker.on('event', (e) => events.push(e))
    await worker.run({ maxExperiments: 2 })
    const failures = events.filter((e) => e.type === 'help-failed')
    expect(failures).toEqual([{ type: 'help-failed', error: 'NotAuthorizedError', message: expect.stringMatching(/not on this coordinator's verifier allowlist/), stopped: true }])
    expect(worker.experiments).toBe(2)
  })
})
