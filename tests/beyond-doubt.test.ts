import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Identity } from '@autoresearch/protocol'
import { selectBackend } from '@autoresearch/runner'
import { Worker, type Agent, type WorkerEvent } from 'autoresearch-worker'
import { countingBackend, simCostCause, type Tally } from '../bench/lib/sim-network.ts'
import { setConstant, TestNetwork } from './network.ts'

/** An agent that proposes one edit: LEARNING_RATE set to `value`. */
const setting = (value: number): Agent => ({
  name: 'scripted',
  async propose (ctx) {
    const text = ctx.files['train.py'] as string
    return { edits: { 'train.py': setConstant('LEARNING_RATE', value)(text) }, description: `LEARNING_RATE -> ${value}` }
  }
})

describe('a find whose gain is beyond doubt goes out without a confirmation run (point 5)', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  /** One experiment of a fresh worker, its sandbox's training runs counted. */
  async function oneExperiment (agent: Agent, name: string): Promise<{ events: WorkerEvent[], tally: Tally }> {
    const network = net as TestNetwork
    const identity = Identity.generate()
    const tally: Tally = { runs: 0, seconds: 0 }
    const worker = new Worker({
      client: await network.client(identity), identity, agent, seed: 11, stateDir: join(network.scratch, name),
      backend: countingBackend(selectBackend(), tally, ['python3', 'harness.py'])
    })
    const events: WorkerEvent[] = []
    worker.on('event', (e) => events.push(e))
    await worker.run({ maxExperiments: 1 })
    return { events, tally }
  }

  it('where the cause declares its noise: a large gain is sent on its one run, a small one is confirmed on a second seed first', async () => {
    // The sim-cost cause declares sequential.noise 0.014; its loss is 4.3 at LEARNING_RATE 0.01 (optimum 0.04).
    net = await TestNetwork.start(simCostCause(0))

    // 0.01 -> 0.02: a gain of about 1.44, a hundred spreads beyond the margin of 0.05.
    const large = await oneExperiment(setting(0.02), 'large')
    const kept = large.events.find((e) => e.type === 'experiment')
    expect(kept).toMatchObject({ row: { status: 'keep' } })
    expect(large.events.filter((e) => e.type === 'confirm')).toEqual([])
    expect(large.events.find((e) => e.type === 'beyond-doubt')).toMatchObject({ candidate: kept?.type === 'experiment' ? kept.row.metric : NaN })
    // Its claim is that run (no second one to average with).
    expect(large.events.find((e) => e.type === 'submitted')).toMatchObject({ claimedMetric: kept?.type === 'experiment' ? kept.row.metric : NaN })
    // The best on the worker's seed, then the experiment: nothing more. This machine's noise is
    // never measured: no decision hung on it (worker/src/operations/noise.ts `noiseNeeded`).
    expect(large.events.find((e) => e.type === 'best')).toMatchObject({ noise: null, noiseDue: true })
    expect(large.events.filter((e) => e.type === 'noise')).toEqual([])
    expect(large.tally.runs).toBe(1 + 1)

    // 0.01 -> 0.0104: a gain of about 0.11, beyond the margin but not by six spreads.
    const small = await oneExperiment(setting(0.0104), 'small')
    expect(small.events.find((e) => e.type === 'experiment')).toMatchObject({ row: { status: 'keep' } })
    expect(small.events.filter((e) => e.type === 'beyond-doubt')).toEqual([])
    expect(small.events.find((e) => e.type === 'confirm')).toMatchObject({ passed: true })
    expect(small.events.some((e) => e.type === 'submitted')).toBe(true)
    // Its keep hung on the noise: measured on two more seeds after the experiment, before it was judged.
    const kinds = small.events.map((e) => e.type)
    expect(kinds.indexOf('noise')).toBeGreaterThan(-1)
    expect(kinds.indexOf('noise')).toBeLessThan(kinds.indexOf('experiment'))
    expect(small.events.filter((e) => e.type === 'measuring' && e.what === 'noise')).toHaveLength(2)
    expect(small.tally.runs).toBe(1 + 1 + 2 + 2)
  })

  it('where the cause declares no noise, every find is confirmed as before', async () => {
    net = await TestNetwork.start(simCostCause(0, { sequential: false }))
    const large = await oneExperiment(setting(0.02), 'large')
    expect(large.events.filter((e) => e.type === 'beyond-doubt')).toEqual([])
    expect(large.events.find((e) => e.type === 'confirm')).toMatchObject({ passed: true })
    // With no declared spread every gain needs this machine's noise: two more runs of the best.
    expect(large.events.filter((e) => e.type === 'noise')).toHaveLength(1)
    expect(large.tally.runs).toBe(1 + 1 + 2 + 2)
  })
})
