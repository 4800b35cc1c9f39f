import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Identity, type Hardware } from '@autoresearch/protocol'
import { selectBackend } from '@autoresearch/runner'
import { verifierHardware } from 'autoresearch-verifier'
import { searchAgent, Worker, type WorkerEvent } from 'autoresearch-worker'
import { countingBackend, type Tally } from '../bench/lib/sim-network.ts'
import { ROOT } from './processes.ts'
import { setConstant, TestNetwork } from './network.ts'

const NOISY = join(ROOT, 'tests', 'fixtures', 'noisy-cause')

describe('a worker follows a best with the verifiers\' runs of it (point 5)', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  /** A worker on `hardware` that runs one experiment on the best; its sandbox's training runs are counted. */
  async function oneExperiment (hardware: Hardware): Promise<{ events: WorkerEvent[], tally: Tally }> {
    const network = net as TestNetwork
    const identity = Identity.generate()
    const tally: Tally = { runs: 0, seconds: 0 }
    const worker = new Worker({
      client: await network.client(identity), identity, agent: searchAgent({ seed: 5 }), hardware,
      stateDir: join(network.scratch, `worker-${hardware.class.length}`), backend: countingBackend(selectBackend(), tally, ['python3', 'train.py'])
    })
    const events: WorkerEvent[] = []
    worker.on('event', (e) => events.push(e))
    await worker.run({ maxExperiments: 1 })
    return { events, tally }
  }

  it('on the verifiers\' hardware class it never runs the best, and takes their seeds; on another class it measures as before', async () => {
    net = await TestNetwork.start(NOISY)
    const seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8))
    await net.verifyAll()
    expect(net.state(seq)).toBe('merged')
    const { coordinator } = net.running
    const info = await (await net.client(Identity.generate())).info()
    const trials = coordinator.store.candidate(seq)?.verdict?.trials ?? []
    // What `info` gives: the merged candidate's side of every verified pair, with the verifier's class.
    expect(info.bestRuns).toEqual(trials.map((t) => ({ seed: t.seed, metric: t.candidate, hardware: verifierHardware().class })))
    expect(info.bestRuns?.length).toBe(5)

    // A worker whose class is the verifiers' (what one verifier run sees: the CPU here, or one GPU).
    const here = await oneExperiment(verifierHardware())
    const best = here.events.find((e) => e.type === 'best')
    expect(best).toMatchObject({ commit: info.best.commit, localMetric: info.bestRuns?.[0]?.metric, verifiedRuns: 5 })
    // The experiment ran, and a confirmation's candidate run if there was one: the best's baseline runs are the verifiers'.
    const confirmations = here.events.filter((e) => e.type === 'confirm').length
    expect(here.tally.runs).toBe(1 + confirmations)

    const elsewhere = await oneExperiment({ class: 'another machine', cpus: 1, gpus: [] })
    expect(elsewhere.events.find((e) => e.type === 'best')).toMatchObject({ verifiedRuns: 0 })
    // The best on the worker's seed, then the experiment (with two noise seeds when it gained, and a confirmation's two runs).
    const count = (type: WorkerEvent['type']): number => elsewhere.events.filter((e) => e.type === type).length
    expect(elsewhere.tally.runs).toBe(1 + 1 + 2 * count('noise') + 2 * count('confirm'))
  })
})
