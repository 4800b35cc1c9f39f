import { spawnSync } from 'node:child_process'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { homePaths } from 'autoresearch-coordinator'
import { Identity } from '@autoresearch/protocol'
import { ROOT, startBin, type Proc } from './processes.ts'
import { setConstant, TestNetwork } from './network.ts'

const NOISY = join(ROOT, 'tests', 'fixtures', 'noisy-cause')
const coordinatorCli = (args: string[]) => spawnSync(process.execPath, [resolve(ROOT, 'coordinator/bin/autoresearch-coordinator.js'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })

/** A train.py that is a real 0.2 gain but takes a second per run, so a verifier can be caught mid-job. */
const slowGain = (text: string): string => setConstant('QUALITY', 0.8)(text).replace('def main():\n', 'def main():\n    import time\n    time.sleep(1)\n')

describe('faults and operator actions with real processes', () => {
  let net: TestNetwork | undefined
  const procs: Proc[] = []
  afterEach(async () => {
    await Promise.all(procs.splice(0).map(async (p) => p.stop()))
    await net?.stop()
    net = undefined
  })

  it('re-issues the job of a verifier killed mid-job, and a second verifier completes it', async () => {
    net = await TestNetwork.start(NOISY, { leaseSeconds: 20 })
    const seq = await net.submitEdit(Identity.generate(), slowGain)
    const leased = new Promise<void>((resolveLeased) => net!.running.coordinator.on('event', (e) => { if (e.type === 'leased') resolveLeased() }))
    const args = ['--coordinator', net.address, '--identity', homePaths(net.home).verifierIdentity, '--json']
    const first = startBin('verifier/bin/autoresearch-verifier.js', [...args, '--state', join(net.scratch, 'v1')])
    procs.push(first)
    await leased
    first.child.kill('SIGKILL')
    expect(net.state(seq)).toBe('verifying')

    const second = startBin('verifier/bin/autoresearch-verifier.js', [...args, '--state', join(net.scratch, 'v2')])
    procs.push(second)
    await second.waitForJson((e) => e.event === 'attested', 120_000)
    expect(net.state(seq)).toBe('merged')
    const jobs = net.running.coordinator.store.jobsFor(seq)
    expect(jobs.map((j) => j.state)).toEqual(['expired', 'done'])
  })

  it('a revert from the admin command is announced to a running worker, which follows the best back; candidates --json lists the figures', async () => {
    net = await TestNetwork.start(NOISY)
    const initial = net.best
    const worker = startBin('worker/bin/autoresearch-worker.js', ['--coordinator', net.address, '--identity', join(net.scratch, 'w.key'), '--state', join(net.scratch, 'w'), '--json'])
    procs.push(worker)
    await worker.waitForJson((e) => e.event === 'best' && e.commit === initial, 60_000)
    const seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8))
    await net.verifyAll()
    expect(net.state(seq)).toBe('merged')
    const merged = net.best
    await worker.waitForJson((e) => e.event === 'announcement' && (e.body as { best: { commit: string } }).best.commit === merged, 60_000)

    const revert = coordinatorCli(['revert', '--home', net.home])
    expect(revert.status, revert.stderr).toBe(0)
    expect(revert.stdout).toContain(`the best is ${initial} again`)
    await worker.waitForJson((e) => e.event === 'announcement' && (e.body as { kind: string }).kind === 'revert', 60_000)
    await worker.waitForJson((e) => e.event === 'best' && e.commit === initial && worker.lines.some((l) => l.includes('"kind":"revert"')), 60_000)

    const listed = coordinatorCli(['candidates', '--home', net.home, '--json'])
    expect(listed.status, listed.stderr).toBe(0)
    const [candidate] = JSON.parse(listed.stdout) as Array<{ seq: number, state: string, seeds: number[], trials: unknown[], test: { pValue: number } }>
    expect(candidate).toMatchObject({ seq, state: 'reverted' })
    expect(candidate!.seeds).toHaveLength(5)
    expect(candidate!.trials).toHaveLength(5)
    expect(candidate!.test.pValue).toBeLessThan(0.05)

    const ban = coordinatorCli(['ban', '--home', net.home, '--key', Identity.generate().publicKey, '--reason', 'test'])
    expect(ban.status, ban.stderr).toBe(0)
  })
})
