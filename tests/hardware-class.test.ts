import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Identity, parseNvidiaSmi, type Hardware } from '@autoresearch/protocol'
import { Verifier, verifierHardware } from 'autoresearch-verifier'
import { ROOT } from './processes.ts'
import { setConstant, TestNetwork } from './network.ts'

const NOISY = join(ROOT, 'tests', 'fixtures', 'noisy-cause')

// Two verifier machines as detection describes them from what their nvidia-smi prints.
const H100 = verifierHardware(parseNvidiaSmi('0, NVIDIA H100 80GB HBM3, 81559\n1, NVIDIA H100 80GB HBM3, 81559\n'))
const A100 = verifierHardware(parseNvidiaSmi('0, NVIDIA A100-SXM4-40GB, 40960\n'))

const coordinatorCli = (args: string[]) => spawnSync(process.execPath, [resolve(ROOT, 'coordinator/bin/autoresearch-coordinator.js'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })

interface HardwareApi { matters: string, reference: string | null, classes: Array<{ class: string, commit: string, candidateSeq: number, metric: number, runs: number }> }

/** A copy of the noisy cause whose manifest says how hardware matters (3 trials: its gains here are far beyond its noise). */
function causeWithHardware (hardware: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ar-cause-'))
  fs.cpSync(NOISY, dir, { recursive: true })
  const path = join(dir, 'autoresearch.json')
  const manifest = JSON.parse(fs.readFileSync(path, 'utf8')) as { verification: Record<string, unknown> }
  fs.writeFileSync(path, JSON.stringify({ ...manifest, verification: { ...manifest.verification, trials: 3 }, hardware }, null, 2))
  return dir
}

describe('hardware classes: a cause whose results depend on the machine is verified on one class', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  const [a, b] = [Identity.generate(), Identity.generate()]
  const start = async (hardware: Record<string, unknown>): Promise<TestNetwork> =>
    await TestNetwork.start(causeWithHardware(hardware), (config) => ({ verifiers: [...config.verifiers, a.publicKey, b.publicKey] }))
  const verifier = async (key: Identity, hardware: Hardware): Promise<Verifier> =>
    new Verifier({ client: await net!.client(key), identity: key, stateDir: join(net!.scratch, key.publicKey.slice(0, 8)), baselineCache: false, hardware })
  const api = async (): Promise<HardwareApi> => await (await fetch(`${net!.running.httpUrl}/api/hardware`)).json() as HardwareApi

  it('with "class", the first verifier sets the reference class and a job goes only to a verifier of that class; the other is told why', async () => {
    net = await start({ matters: 'class' })
    const { coordinator } = net.running
    const [onH100, onA100] = [await verifier(a, H100), await verifier(b, A100)]
    expect(H100.class).toBe('gpu:NVIDIA H100 80GB HBM3 (80 GiB) x1')
    expect((await api()).reference).toBeNull()

    // The first verifier to ask for work sets the reference, job or not.
    expect(await onH100.runOnce()).toBeGreaterThan(0)
    expect(coordinator.store.hardwareReference()).toBe(H100.class)
    const seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8))

    // The other class gets no job but a typed reason naming both classes, at once even when it asks to be held for work.
    const asked = Date.now()
    const refusal = net.client(b).then(async (client) => await client.lease(b, coordinator.causeId, A100, { waitMs: 15_000 }))
    await expect(refusal).rejects.toMatchObject({ name: 'HardwareClassError', message: expect.stringContaining(`verified only on ${H100.class} (the class of its first verifier); this verifier is ${A100.class}`) })
    expect(Date.now() - asked).toBeLessThan(10_000)
    await expect(onA100.runOnce()).rejects.toMatchObject({ name: 'HardwareClassError' })
    expect(coordinator.leaseHolds.held).toBe(0)
    expect(net.state(seq)).toBe('queued')
    expect(coordinator.store.jobsFor(seq)).toEqual([])

    // The verifier of the reference class takes it, and it is merged on that class's measurement.
    expect(await onH100.runOnce()).toBe(0)
    expect(net.state(seq)).toBe('merged')
    expect(coordinator.store.jobsFor(seq).map((j) => j.verifier)).toEqual([a.publicKey])
    expect(coordinator.store.attestationsFor(seq).map((x) => x.body.hardware.class)).toEqual([H100.class])

    // The site names the reference and the best verified on it.
    const hw = await api()
    expect(hw).toMatchObject({ matters: 'class', reference: H100.class })
    expect(hw.classes.map((c) => [c.class, c.candidateSeq, c.commit])).toEqual([[H100.class, seq, net.best]])
    expect(hw.classes[0]?.runs).toBe(coordinator.manifest.verification.trials)
    const page = await (await fetch(net.running.httpUrl)).text()
    expect(page).toContain('Best per hardware class')
    expect(page).toContain(`<strong id="reference-class">${H100.class}</strong>`)
  })

  it('a reference class the manifest names wins over the first verifier: the other class is refused from the start', async () => {
    net = await start({ matters: 'class', reference: A100.class })
    const { coordinator } = net.running
    const seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8))
    await expect((await net.client(a)).lease(a, coordinator.causeId, H100)).rejects.toMatchObject({ name: 'HardwareClassError', message: expect.stringContaining(`verified only on ${A100.class} (the class its manifest names)`) })
    const { job } = await (await net.client(b)).lease(b, coordinator.causeId, A100)
    expect(job?.candidateSeq).toBe(seq)
    expect(coordinator.store.hardwareReference()).toBeUndefined()
    expect((await api()).reference).toBe(A100.class)
  })

  it('the host moves a running cause to another class with `hardware-class --set`, or lets the next verifier choose with `--forget`', async () => {
    net = await start({ matters: 'class' })
    const { coordinator } = net.running
    await (await net.client(a)).lease(a, coordinator.causeId, H100)
    expect(coordinator.store.hardwareReference()).toBe(H100.class)

    const moved = coordinatorCli(['hardware-class', '--home', net.home, '--set', A100.class])
    expect(moved.status, moved.stderr).toBe(0)
    expect(moved.stdout.trim()).toBe(`verified only on ${A100.class}, the class recorded for this cause`)
    const seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8))
    await expect((await net.client(a)).lease(a, coordinator.causeId, H100)).rejects.toMatchObject({ name: 'HardwareClassError' })
    expect((await (await net.client(b)).lease(b, coordinator.causeId, A100)).job?.candidateSeq).toBe(seq)

    const forgot = coordinatorCli(['hardware-class', '--home', net.home, '--forget'])
    expect(forgot.stdout.trim()).toBe('no reference class yet: the first verifier to ask for work sets it')
    expect((await api()).reference).toBeNull()
  })

  it('with "any" (the default), verifiers of both classes take jobs, and the site keeps the best each class verified', async () => {
    net = await start({})
    const { coordinator } = net.running
    expect(coordinator.manifest.hardware).toEqual({ matters: 'any' })
    const [onH100, onA100] = [await verifier(a, H100), await verifier(b, A100)]

    const first = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8))
    expect(await onA100.runOnce()).toBe(0)
    expect(net.state(first)).toBe('merged')
    const second = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.6))
    expect(await onH100.runOnce()).toBe(0)
    expect(net.state(second)).toBe('merged')
    expect(coordinator.store.hardwareReference()).toBeUndefined()

    const hw = await api()
    expect(hw).toMatchObject({ matters: 'any', reference: null })
    expect(hw.classes.map((c) => [c.class, c.candidateSeq])).toEqual([[H100.class, second], [A100.class, first]])
    // Each figure is that class's own runs of its best: the newer best measures lower here.
    expect(hw.classes[0]!.metric).toBeLessThan(hw.classes[1]!.metric)
  })
})
