import { cpSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Identity, readFileAt } from '@autoresearch/protocol'
import { Worker, type WorkerEvent } from 'autoresearch-worker'
import { NOISY } from './adversarial/arena.ts'
import { ROOT, startBin, type Proc } from './processes.ts'
import { scriptedAgent, setConstant, TestNetwork } from './network.ts'

/** The noisy cause with training that takes a while, so a signal can land mid-run. */
function slowCause (): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'ar-slow-')), 'cause')
  cpSync(join(ROOT, 'tests', 'fixtures', 'noisy-cause'), dir, { recursive: true })
  const train = readFileSync(join(dir, 'train.py'), 'utf8').replace('def main():\n', 'def main():\n    import time\n    time.sleep(1.5)\n')
  writeFileSync(join(dir, 'train.py'), train)
  return dir
}

/**
 * Processes working inside `dir` (an experiment left behind would be one): their working
 * directory is there, or, for a step in its trial's own mount namespace, whose paths the
 * host does not see, their command line names a path below it (the sandbox and the
 * namespace holder; the worker's own `--state dir` is not below it).
 */
function processesIn (dir: string): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readlinkSync(`/proc/${p}/cwd`).startsWith(dir) || readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').some((a) => a.includes(`${dir}/`))
    } catch { return false }
  }).map(Number)
}

const exited = async (p: Proc): Promise<number | null> => p.child.exitCode ?? new Promise((resolve) => p.child.once('exit', (code) => resolve(code)))

describe('stopping and resuming a worker', () => {
  let net: TestNetwork | undefined
  const procs: Proc[] = []
  afterEach(async () => { await Promise.all(procs.splice(0).map(async (p) => p.stop())); await net?.stop(); net = undefined })

  it('SIGINT during training kills the experiment, keeps results.tsv consistent, and the next run resumes', async () => {
    net = await TestNetwork.start(slowCause())
    const state = join(net.scratch, 'worker')
    const args = ['--coordinator', net.address, '--identity', join(net.scratch, 'id.key'), '--state', state, '--json']
    const first = startBin('worker/bin/autoresearch-worker.js', args)
    procs.push(first)
    await first.waitForJson((e) => e.event === 'experiment' && e.n === 1, 120_000)
    await first.waitForJson((e) => e.event === 'phase' && e.phase === 'training' && e.n === 2, 120_000)
    await new Promise((r) => setTimeout(r, 500))
    expect(processesIn(state).length).toBeGreaterThan(0)
    first.child.kill('SIGINT')
    expect(await exited(first)).toBe(0)
    expect(first.lines.join('\n')).toContain('stopped after experiment')
    expect(processesIn(state)).toEqual([])

    const rows = readFileSync(join(state, 'results.tsv'), 'utf8').trim().split('\n')
    expect(rows.every((r) => r.split('\t').length === 5)).toBe(true)
    expect(rows.slice(1).map((r) => r.split('\t')[3])).toEqual(['keep', expect.stringMatching(/^(keep|discard|crash)$/)])

    const second = startBin('worker/bin/autoresearch-worker.js', [...args, '--once'])
    procs.push(second)
    await second.waitForJson((e) => e.event === 'resumed' && e.experiments === 1, 120_000)
    expect(await exited(second)).toBe(0)
    expect(second.lines.some((l) => l.includes('"event":"best"'))).toBe(false)
    const after = readFileSync(join(state, 'results.tsv'), 'utf8').trim().split('\n')
    expect(after.length).toBe(rows.length + 1)
    expect(second.lines.some((l) => l.includes('"event":"experiment"') && l.includes('"n":2'))).toBe(true)
  })

  it('a stop during the confirmation run keeps the local best, reports nothing, and the next run confirms and submits it', async () => {
    net = await TestNetwork.start(NOISY)
    const identity = Identity.generate()
    const stateDir = join(net.scratch, 'worker')
    const controller = new AbortController()
    const first = new Worker({
      client: await net.client(identity), identity, stateDir, lookahead: false,
      agent: scriptedAgent([{ edit: setConstant('QUALITY', 0.5), description: 'QUALITY 1.0 -> 0.5' }])
    })
    const events: WorkerEvent[] = []
    first.on('event', (e) => {
      events.push(e)
      // Ctrl-C as the candidate's confirmation run starts.
      if (e.type === 'measuring' && e.what === 'candidate') controller.abort(new DOMException('stopped', 'AbortError'))
    })
    await first.run({ signal: controller.signal, maxExperiments: 1 }).catch((err: Error) => { expect(err.name).toBe('AbortError') })
    const said = JSON.stringify(events.filter((e) => e.type !== 'phase'))
    expect(controller.signal.aborted, said).toBe(true)
    // No verdict on a run cut short: not `unconfirmed`, not back to the best, nothing sent.
    expect(events.filter((e) => e.type === 'confirm' || e.type === 'submitted'), said).toEqual([])
    const saved = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as { base: { commit: string }, local: { commit: string }, tried?: string[] }
    expect(saved.local.commit).not.toBe(saved.base.commit)
    expect(saved.tried ?? []).not.toContain(saved.local.commit)
    expect(net.running.coordinator.store.countsByState()).toEqual({})

    const again = new Worker({
      client: await net.client(identity), identity, stateDir, lookahead: false,
      agent: scriptedAgent([{ edit: setConstant('BONUS', 0.9), description: 'BONUS 0.5 -> 0.9' }])
    })
    const later: WorkerEvent[] = []
    again.on('event', (e) => later.push(e))
    await again.run({ maxExperiments: 2 })
    const saidLater = JSON.stringify(later.filter((e) => e.type !== 'phase' && e.type !== 'measuring'))
    expect(later.find((e) => e.type === 'resumed'), saidLater).toMatchObject({ local: saved.local.commit })
    const sent = later.flatMap((e) => e.type === 'submitted' ? [e.receipt] : [])
    expect(sent.length, saidLater).toBeGreaterThan(0)
    expect(await readFileAt(join(stateDir, 'cause.git'), sent[0]?.candidate ?? '', 'train.py')).toMatch(/^QUALITY = 0\.5$/m)
  })
})
