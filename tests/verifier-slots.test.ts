import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Identity } from '@autoresearch/protocol'
import { selectBackend, type SandboxBackend } from '@autoresearch/runner'
import { Verifier } from 'autoresearch-verifier'
import { ROOT } from './processes.ts'
import { setConstant, TestNetwork } from './network.ts'

const NOISY = join(ROOT, 'tests', 'fixtures', 'noisy-cause')

/** The sandbox, with each train run held 300 ms longer and the most train runs at once recorded. */
function concurrencyBackend (inner: SandboxBackend, trainCommand: string[]): { backend: SandboxBackend, most: () => number } {
  const train = trainCommand.join('\0')
  let running = 0
  let most = 0
  const backend: SandboxBackend = {
    name: inner.name,
    entersDisk: inner.entersDisk,
    run: async (spec) => {
      if (spec.command.join('\0') !== train) return await inner.run(spec)
      running++
      most = Math.max(most, running)
      try {
        await new Promise((resolve) => setTimeout(resolve, 300))
        return await inner.run(spec)
      } finally {
        running--
      }
    }
  }
  return { backend, most: () => most }
}

describe('verifier slots', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  it('a verifier with 2 slots runs two pairs at once, each pair on its slot, and its attestation is accepted', async () => {
    net = await TestNetwork.start(NOISY)
    const seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8))
    const train = (JSON.parse(readFileSync(join(NOISY, 'autoresearch.json'), 'utf8')) as { train: { command: string[] } }).train.command
    const { backend, most } = concurrencyBackend(selectBackend(), train)
    const verifier = new Verifier({ client: await net.client(net.verifierIdentity), identity: net.verifierIdentity, stateDir: join(net.scratch, 'v'), backend, slots: 2, baselineCache: false })
    const order: Array<{ seed: number, side: string }> = []
    verifier.on('event', (e) => { if (e.type === 'trial') order.push({ seed: e.seed, side: e.side }) })
    expect(await verifier.runOnce()).toBe(0)
    expect(most()).toBe(2)
    // Within a pair the baseline runs before the candidate.
    for (const { seed } of order) {
      expect(order.findIndex((t) => t.seed === seed && t.side === 'baseline')).toBeLessThan(order.findIndex((t) => t.seed === seed && t.side === 'candidate'))
    }
    expect(net.state(seq)).toBe('merged')
    const attestation = net.running.coordinator.store.attestationsFor(seq)[0]
    expect(attestation?.body.trials.map((t) => t.seed)).toEqual(net.running.coordinator.store.jobsFor(seq)[0]?.seeds)
  })
})
