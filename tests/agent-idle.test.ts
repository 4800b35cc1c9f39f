import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Identity } from '@autoresearch/protocol'
import { Worker, type Agent, type WorkerEvent } from 'autoresearch-worker'
import { ROOT } from './processes.ts'
import { setConstant, TestNetwork } from './network.ts'
import { until } from './until.ts'

const NOISY = join(ROOT, 'tests', 'fixtures', 'noisy-cause')

describe('an agent with nothing to propose on the best (issue 14, push not poll)', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  it('is asked again as soon as another volunteer\'s candidate merges, not when its pause runs out, and the count starts again on the new best', async () => {
    net = await TestNetwork.start(NOISY)
    // An agent that never has anything to propose; each ask records when, and on which train.py.
    const asks: Array<{ at: number, train: string }> = []
    const agent: Agent = { name: 'idle', propose: async (ctx) => { asks.push({ at: Date.now(), train: ctx.files['train.py'] ?? '' }); return null } }
    const identity = Identity.generate()
    // A pause of ten minutes: only the new best can end it within the test.
    const worker = new Worker({ client: await net.client(identity), identity, agent, stateDir: join(net.scratch, 'worker'), backoff: { minMs: 600_000, maxMs: 600_000 } })
    const events: WorkerEvent[] = []
    worker.on('event', (e) => events.push(e))
    const controller = new AbortController()
    const running = worker.run({ signal: controller.signal })
    const pauses = (): Array<Extract<WorkerEvent, { type: 'agent-backoff' }>> => events.flatMap((e) => e.type === 'agent-backoff' ? [e] : [])

    await until(() => pauses().length === 1, 'the worker pauses for its agent', 60_000)
    expect(pauses()[0]).toMatchObject({ errors: 0, empty: 3, retryInMs: 600_000, untilNewBest: true })
    expect(asks).toHaveLength(3)

    // Another volunteer's edit is verified and merged: the coordinator announces a new best.
    const seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8))
    await net.verifyAll()
    expect(net.state(seq)).toBe('merged')
    const merged = Date.now()
    const onNew = (): typeof asks => asks.filter((a) => a.train.includes('QUALITY = 0.8'))

    // The worker follows it and asks its agent there within seconds of the merge (a timer would have waited ten minutes).
    await until(() => onNew().length > 0, 'the agent is asked on the new best', 30_000)
    expect(onNew()[0]!.at - merged).toBeLessThan(30_000)
    // Nothing to propose on the old best says nothing of the new one: three asks again before the next pause.
    await until(() => pauses().length === 2, 'the worker pauses again', 30_000)
    expect(onNew()).toHaveLength(3)
    expect(pauses()[1]).toMatchObject({ empty: 3, untilNewBest: true })
    controller.abort()
    await running
    expect(events.some((e) => e.type === 'experiment')).toBe(false)
  })
})
