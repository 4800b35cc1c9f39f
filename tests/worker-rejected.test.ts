/**
 * A worker whose submission the network rejects. Its local best was most likely a lucky run
 * here (a lucky confirmation too); kept, every later experiment would have to beat that luck,
 * and a worker alone could stay there. It goes back to the network best. Real coordinator,
 * libp2p, git and sandbox; the verifier's measurements are given (the network finds no gain).
 */
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { commitTree, describeHardware, Identity, readFileAt, type Job } from '@autoresearch/protocol'
import { Worker, type WorkerEvent } from 'autoresearch-worker'
import { NOISY } from './adversarial/arena.ts'
import { givenTrials, scriptedAgent, setConstant, TestNetwork } from './network.ts'

/** The host's verifier leases the next `n` jobs and attests each with no gain; their verdicts' states. */
async function attestNoGain (net: TestNetwork, n: number): Promise<string[]> {
  const { causeId } = net.running.coordinator
  const host = await net.client(net.verifierIdentity)
  const states: string[] = []
  for (let i = 0; i < n; i++) {
    const job = (await host.lease(net.verifierIdentity, causeId, describeHardware())).job as Job
    states.push((await host.attest(net.verifierIdentity, { causeId, jobId: job.jobId, candidate: job.candidate, baseline: job.baseline, trials: givenTrials(job, 0), hardware: describeHardware() })).verdict.state)
  }
  return states
}

describe('a worker whose submission the network rejects', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  it('goes back to the network best instead of building on its rejected local best', async () => {
    net = await TestNetwork.start(NOISY)
    const identity = Identity.generate()
    const stateDir = join(net.scratch, 'worker')
    let rejected!: () => void
    let verdict: string | undefined
    // Bounded: if the submission never comes, the next proposal goes on and the checks below say why.
    const judged = Promise.race([new Promise<void>((resolve) => { rejected = resolve }), delay(60_000)])
    const seen: string[] = []
    const worker = new Worker({
      client: await net.client(identity), identity, stateDir, lookahead: false,
      agent: scriptedAgent([
        { edit: setConstant('QUALITY', 0.5), description: 'QUALITY 1.0 -> 0.5' },
        { edit: setConstant('BONUS', 0.9), description: 'BONUS 0.5 -> 0.9', before: judged },
        { edit: setConstant('BONUS', 0.4), description: 'BONUS 0.5 -> 0.4' }
      ], seen)
    })
    const events: WorkerEvent[] = []
    worker.on('event', (e) => {
      events.push(e)
      if (e.type !== 'submitted' || e.receipt.candidateSeq !== 1) return
      // The network measures no gain: the host's verifier attests it so.
      attestNoGain(net as TestNetwork, 1).then(([state]) => { verdict = state }, (err: unknown) => { verdict = String(err) }).finally(rejected)
    })
    await worker.run({ maxExperiments: 3 })
    const said = JSON.stringify(events.filter((e) => e.type !== 'phase' && e.type !== 'measuring'))
    expect(verdict, said).toBe('rejected')
    const submitted = events.find((e) => e.type === 'submitted')
    const dropped = events.find((e) => e.type === 'local-dropped')
    expect(dropped, said).toMatchObject({ type: 'local-dropped', commit: expect.any(String) })
    // It was the local best the submission sent, and it comes after the verdict.
    expect(events.indexOf(dropped as WorkerEvent)).toBeGreaterThan(events.findIndex((e) => e.type === 'verdict' && e.status.state === 'rejected'))
    const tree = (await commitTree(join(stateDir, 'cause.git'), dropped?.type === 'local-dropped' ? dropped.commit : '')).tree
    expect(tree).toBe(submitted?.type === 'submitted' ? submitted.receipt.tree : undefined)
    // The second experiment still built on QUALITY 0.5 (the verdict was not in yet); the third starts from the network best.
    expect(seen).toHaveLength(3)
    expect(seen[1]).toContain('QUALITY = 0.5')
    expect(seen[2]).toContain('QUALITY = 1.0')
  })
  it('goes back to the network best when what it kept since its first submission went out alone and was rejected', async () => {
    net = await TestNetwork.start(NOISY)
    const identity = Identity.generate()
    const stateDir = join(net.scratch, 'worker')
    let judgedBoth!: () => void
    const verdicts: string[] = []
    const judged = Promise.race([new Promise<void>((resolve) => { judgedBoth = resolve }), delay(60_000)])
    const seen: string[] = []
    const worker = new Worker({
      client: await net.client(identity), identity, stateDir, lookahead: false,
      agent: scriptedAgent([
        { edit: setConstant('QUALITY', 0.5), description: 'QUALITY 1.0 -> 0.5' },
        { edit: setConstant('BONUS', 0.2), description: 'BONUS 0.5 -> 0.2' },
        { edit: setConstant('BONUS', 0.9), description: 'BONUS 0.2 -> 0.9', before: judged },
        { edit: setConstant('BONUS', 0.4), description: 'BONUS 0.5 -> 0.4' }
      ], seen)
    })
    const events: WorkerEvent[] = []
    worker.on('event', (e) => {
      events.push(e)
      if (e.type !== 'submitted' || e.receipt.candidateSeq !== 2) return
      // The network measures no gain in either: the host's verifier attests both so.
      attestNoGain(net as TestNetwork, 2).then((states) => verdicts.push(...states), (err: unknown) => { verdicts.push(String(err)) }).finally(judgedBoth)
    })
    await worker.run({ maxExperiments: 4 })
    const said = JSON.stringify(events.filter((e) => e.type !== 'phase' && e.type !== 'measuring'))
    expect(verdicts, said).toEqual(['rejected', 'rejected'])
    const sent = events.flatMap((e) => e.type === 'submitted' ? [e.receipt] : [])
    expect(sent.slice(0, 2).map((r) => r.candidateSeq), said).toEqual([1, 2])
    // #2 is BONUS alone, on the network best: the local best (both edits) is neither tree.
    const gitdir = join(stateDir, 'cause.git')
    expect(await readFileAt(gitdir, sent[1]?.candidate ?? '', 'train.py')).toContain('QUALITY = 1.0')
    const dropped = events.find((e) => e.type === 'local-dropped')
    expect(dropped, said).toBeDefined()
    expect(await readFileAt(gitdir, dropped?.type === 'local-dropped' ? dropped.commit : '', 'train.py')).toMatch(/QUALITY = 0.5[\s\S]*BONUS = 0.2|BONUS = 0.2[\s\S]*QUALITY = 0.5/)
    // The third experiment still built on both edits (the verdicts were not in yet); the fourth starts from the network best.
    expect(seen).toHaveLength(4)
    expect(seen[2]).toContain('BONUS = 0.2')
    expect(seen[3]).toContain('QUALITY = 1.0')
    expect(seen[3]).toContain('BONUS = 0.5')
  })
  it('after a restart, still goes back to the network best when a find it sent alone was rejected while it was stopped', async () => {
    net = await TestNetwork.start(NOISY)
    const identity = Identity.generate()
    const stateDir = join(net.scratch, 'worker')
    const first = new Worker({
      client: await net.client(identity), identity, stateDir, lookahead: false,
      agent: scriptedAgent([
        { edit: setConstant('QUALITY', 0.5), description: 'QUALITY 1.0 -> 0.5' },
        { edit: setConstant('BONUS', 0.2), description: 'BONUS 0.5 -> 0.2' }
      ])
    })
    const events: WorkerEvent[] = []
    first.on('event', (e) => events.push(e))
    await first.run({ maxExperiments: 2 })
    const said = JSON.stringify(events.filter((e) => e.type !== 'phase' && e.type !== 'measuring'))
    const sent = events.flatMap((e) => e.type === 'submitted' ? [e.receipt] : [])
    expect(sent.map((r) => r.candidateSeq), said).toEqual([1, 2])
    // #2 is BONUS alone (the local best has both edits); the network rejects both while the worker is stopped.
    expect(await readFileAt(join(stateDir, 'cause.git'), sent[1]?.candidate ?? '', 'train.py')).toContain('QUALITY = 1.0')
    expect(await attestNoGain(net, 2)).toEqual(['rejected', 'rejected'])

    const seen: string[] = []
    const again = new Worker({
      client: await net.client(identity), identity, stateDir, lookahead: false,
      agent: scriptedAgent([{ edit: setConstant('BONUS', 0.4), description: 'BONUS 0.5 -> 0.4' }], seen)
    })
    const later: WorkerEvent[] = []
    again.on('event', (e) => later.push(e))
    await again.run({ maxExperiments: 3 })
    const saidLater = JSON.stringify(later.filter((e) => e.type !== 'phase' && e.type !== 'measuring'))
    expect(later.find((e) => e.type === 'resumed'), saidLater).toBeDefined()
    expect(later.find((e) => e.type === 'local-dropped'), saidLater).toBeDefined()
    // Its next experiment starts from the network best, not from the two edits the network rejected.
    expect(seen).toHaveLength(1)
    expect(seen[0]).toContain('QUALITY = 1.0')
    expect(seen[0]).toContain('BONUS = 0.5')
  })
})
