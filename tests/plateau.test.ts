import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Identity } from '@autoresearch/protocol'
import { Worker, type Agent, type WorkerEvent } from 'autoresearch-worker'
import { ROOT } from './processes.ts'
import { setConstant, TestNetwork } from './network.ts'
import { until } from './until.ts'

const NOISY = join(ROOT, 'tests', 'fixtures', 'noisy-cause')

describe('a worker on a plateau while others move the best (issue 14, workers among many)', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  it('counts its experiments without a keep across a best another volunteer made, and turns bold after `plateau` of them in all', async () => {
    net = await TestNetwork.start(NOISY)
    const events: WorkerEvent[] = []
    const ran = (): number => events.filter((e) => e.type === 'experiment').length
    // An agent whose every edit makes the loss worse by a whole unit (never a keep), each a new value;
    // each ask records whether it was asked to be bold, on which best, and how many experiments had run.
    const asks: Array<{ bold: boolean, onNew: boolean, ran: number }> = []
    let gate: Promise<void> | undefined
    const agent: Agent = {
      name: 'worse',
      propose: async (ctx) => {
        const train = ctx.files['train.py'] ?? ''
        asks.push({ bold: ctx.bold === true, onNew: train.includes('QUALITY = 0.8'), ran: ran() })
        // The sixth experiment's proposal waits here while another volunteer's candidate merges.
        if (ran() === 5 && gate !== undefined) await gate
        return { edits: { 'train.py': setConstant('BONUS', 1 + asks.length)(train) }, description: `BONUS up (${asks.length})` }
      }
    }
    let open = (): void => {}
    gate = new Promise((resolve) => { open = resolve })
    const identity = Identity.generate()
    // No proposal made ahead: each ask is the step's own, so the counts read plainly.
    const worker = new Worker({ client: await net.client(identity), identity, agent, stateDir: join(net.scratch, 'worker'), lookahead: false })
    worker.on('event', (e) => events.push(e))
    const controller = new AbortController()
    const running = worker.run({ signal: controller.signal })

    await until(() => asks.some((a) => a.ran === 5), 'five experiments without a keep on the first best', 90_000)
    const seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8))
    await net.verifyAll()
    expect(net.state(seq)).toBe('merged')
    open()

    // The default plateau is 8: the first bold ask comes after 8 experiments in all, 6 of them on the old best.
    await until(() => asks.some((a) => a.bold), 'the agent is asked for bolder changes', 90_000)
    controller.abort()
    // Stopped in the middle of a step, the loop ends with the abort itself.
    await running.catch((err: unknown) => { if ((err as Error).name !== 'AbortError') throw err })
    const first = asks.find((a) => a.bold)
    expect(first).toMatchObject({ onNew: true, ran: 8 })
    expect(asks.filter((a) => !a.onNew && !a.bold).length).toBeGreaterThanOrEqual(6)
    expect(events.find((e) => e.type === 'plateau')).toMatchObject({ experiments: 8, bold: 8 })
    expect(events.some((e) => e.type === 'experiment' && e.row.status === 'keep')).toBe(false)
  })
})
