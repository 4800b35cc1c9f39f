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

  /** A slow agent that moves BONUS by `step` each time, on whatever files it is shown, and notes what it was asked on. */
  function bonusAgent (step: number, timeline: string[]): Agent {
    let asked = 0
    return {
      name: 'slow',
      propose: async (ctx) => {
        const n = ++asked
        const train = ctx.files['train.py'] ?? ''
        const bonus = Number(/^BONUS = (.*)$/m.exec(train)?.[1]) + step
        timeline.push(`asked ${n} on BONUS ${bonus.toFixed(2)}`)
        await new Promise((resolve) => setTimeout(resolve, 300))
        return { edits: { 'train.py': train.replace(/^BONUS = .*$/m, `BONUS = ${bonus.toFixed(2)}`) }, description: `BONUS -> ${bonus.toFixed(2)}` }
      }
    }
  }

  it('after a keep, the next experiment is asked for on the kept files while the find is confirmed', async () => {
    net = await TestNetwork.start(NOISY)
    const identity = Identity.generate()
    const timeline: string[] = []
    // Each proposal lowers BONUS by more than any noise: every experiment is a keep worth confirming.
    const worker = new Worker({ client: await net.client(identity), identity, agent: bonusAgent(-0.3, timeline), stateDir: join(net.scratch, 'worker'), share: false })
    worker.on('event', (e) => {
      if (e.type === 'confirm') timeline.push('confirmed')
      if (e.type === 'experiment') timeline.push(`result ${e.n}`)
    })
    await worker.run({ maxExperiments: 2 })
    // Experiment 1 (BONUS 0.50 → 0.20) was a keep: the proposal made ahead of it (on 0.50 again) was dropped, and the
    // next asked for on the kept files at once, before the keep's confirmation ended; that one ran.
    const line = timeline.join(', ')
    expect(timeline.slice(0, 5), line).toEqual(['asked 1 on BONUS 0.20', 'asked 2 on BONUS 0.20', 'result 1', 'asked 3 on BONUS -0.10', 'confirmed'])
    expect(timeline.filter((t) => t.startsWith('asked')), line).toHaveLength(3)
  })

  it('on a new best, the next experiment is asked for on its files while the best is measured', async () => {
    net = await TestNetwork.start(NOISY)
    const identity = Identity.generate()
    const timeline: string[] = []
    // Each proposal raises BONUS: every experiment is a discard, and the worker stays on the best itself.
    const worker = new Worker({ client: await net.client(identity), identity, agent: bonusAgent(0.3, timeline), stateDir: join(net.scratch, 'worker'), share: false })
    const events: WorkerEvent[] = []
    worker.on('event', (e) => {
      events.push(e)
      if (e.type === 'best') timeline.push('best measured')
    })
    await worker.run({ maxExperiments: 1 })
    expect(events.filter((e) => e.type === 'experiment' && e.row.status === 'discard')).toHaveLength(1)

    // Another volunteer's candidate becomes the best: BONUS 0.05.
    await net.submitEdit(Identity.generate(), (t) => t.replace(/^BONUS = .*$/m, 'BONUS = 0.05'), { claimedMetric: 1.05 })
    await net.verifyAll()
    const best = net.best
    timeline.length = 0
    await worker.run({ maxExperiments: 2 })
    expect(events.filter((e) => e.type === 'best').at(-1)).toMatchObject({ type: 'best', commit: best })
    // Asked on the new best's files (BONUS 0.05 + 0.3) before the best's own measurement ended; that proposal is the one run.
    const line = timeline.join(', ')
    expect(timeline.indexOf('asked 2 on BONUS 0.35'), line).toBe(0)
    expect(timeline.indexOf('best measured'), line).toBe(1)
    expect(timeline.filter((t) => t.startsWith('asked')), line).toHaveLength(1)
    expect(events.filter((e) => e.type === 'experiment').at(-1)).toMatchObject({ n: 2, best, row: { description: 'BONUS -> 0.35' } })
  })
})
