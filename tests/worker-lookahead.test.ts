import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Identity } from '@autoresearch/protocol'
import { Worker, type Agent, type WorkerEvent } from 'autoresearch-worker'
import { ROOT } from './processes.ts'
import { TestNetwork } from './network.ts'

const NOISY = join(ROOT, 'tests', 'fixtures', 'noisy-cause')

describe('the agent proposes while the worker\'s runs go on (point 5)', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  it('a slow agent is asked for the next experiment before the current one has its result; nothing it proposed ahead of a keep is run', async () => {
    net = await TestNetwork.start(NOISY)
    const identity = Identity.generate()
    const timeline: string[] = []
    let asked = 0
    // A slow agent whose every proposal is a new edit (a repeat would be asked for again, for another reason than a keep).
    const agent: Agent = {
      name: 'slow',
      propose: async (ctx) => {
        const n = ++asked
        timeline.push(`asked ${n}`)
        await new Promise((resolve) => setTimeout(resolve, 300))
        const train = ctx.files['train.py'] ?? ''
        return { edits: { 'train.py': train.replace(/^BONUS = .*$/m, `BONUS = ${(0.5 + n / 100).toFixed(2)}`) }, description: `BONUS -> ${(0.5 + n / 100).toFixed(2)}` }
      }
    }
    const worker = new Worker({ client: await net.client(identity), identity, agent, stateDir: join(net.scratch, 'worker') })
    const events: WorkerEvent[] = []
    worker.on('event', (e) => {
      events.push(e)
      if (e.type === 'experiment') timeline.push(`result ${e.n}`)
    })
    await worker.run({ maxExperiments: 4 })
    const experiments = events.filter((e) => e.type === 'experiment')
    expect(experiments).toHaveLength(4)
    // Every result but the last came after the agent had been asked for the next experiment.
    for (const n of [1, 2, 3]) expect(timeline.indexOf(`asked ${n + 1}`), timeline.join(', ')).toBeLessThan(timeline.indexOf(`result ${n}`))
    // A proposal made ahead of a keep was dropped and asked for again; none was run twice or left over.
    const keeps = experiments.slice(0, 3).filter((e) => e.type === 'experiment' && e.row.status === 'keep').length
    expect(asked).toBe(4 + keeps)
    expect(new Set(experiments.map((e) => e.type === 'experiment' ? e.row.commit : '')).size).toBe(4)
  })
})
