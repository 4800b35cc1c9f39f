import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
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

  it('a verifier stopped in the middle of a job attests nothing and reports no failed trial or early stop for a run it cut short; the job stays leased until its lease runs out', async () => {
    net = await TestNetwork.start(NOISY)
    const seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8))
    const train = (JSON.parse(readFileSync(join(NOISY, 'autoresearch.json'), 'utf8')) as { train: { command: string[] } }).train.command.join('\0')
    const controller = new AbortController()
    const inner = selectBackend()
    let trains = 0
    // Stopped (Ctrl-C) while the first pair's candidate trains: the sandbox reports the step killed by the stop, as it does when the signal lands mid-run.
    const backend: SandboxBackend = {
      name: inner.name,
      entersDisk: inner.entersDisk,
      run: async (spec) => {
        if (spec.command.join('\0') !== train || ++trains !== 2) return await inner.run(spec)
        controller.abort(new DOMException('stopped', 'AbortError'))
        return { exitCode: null, signal: 'SIGTERM', timedOut: false, aborted: true, output: '', durationMs: 5 }
      }
    }
    const verifier = new Verifier({ client: await net.client(net.verifierIdentity), identity: net.verifierIdentity, stateDir: join(net.scratch, 'v'), backend, baselineCache: false })
    const events: string[] = []
    verifier.on('event', (e) => { events.push(e.type === 'trial' ? `trial ${e.side} ${e.result.ok ? 'ok' : e.result.reason}` : e.type) })
    await expect(verifier.runOnce(controller.signal)).rejects.toMatchObject({ name: 'AbortError' })
    // The pair cut short ends after the stop is answered: what it would report comes in this while.
    await delay(500)
    expect(events).toEqual(['job', 'trial baseline ok'])
    const store = net.running.coordinator.store
    expect(store.attestationsFor(seq)).toEqual([])
    expect(net.state(seq)).toBe('verifying')
    expect(store.jobsFor(seq).map((j) => j.state)).toEqual(['leased'])
  })
})
