import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Identity } from '@autoresearch/protocol'
import { selectBackend, type SandboxBackend } from '@autoresearch/runner'
import { commandAgent, openaiAgent, Worker, type WorkerEvent } from 'autoresearch-worker'
import { ROOT } from './processes.ts'
import { TestNetwork } from './network.ts'
import { scriptedLlm } from './scripted-llm.ts'

const TOY = join(ROOT, 'examples', 'toy-regression')
const block = (path: string, search: string, replace: string): string => `${path}\n<<<<<<< SEARCH\n${search}\n=======\n${replace}\n>>>>>>> REPLACE`

const scriptedServer = scriptedLlm

describe('agents drive the worker loop', () => {
  let net: TestNetwork | undefined
  let server: Server | undefined
  afterEach(async () => { server?.close(); await net?.stop(); net = undefined })

  it('an OpenAI-compatible agent survives bad answers and its real improvement is submitted, verified and merged', async () => {
    net = await TestNetwork.start(TOY)
    const scripted = await scriptedServer([
      'I think you should raise the learning rate.',
      `DESCRIPTION: cheat\n${block('evaluate.py', 'mse', '0')}`,
      `DESCRIPTION: typo\n${block('train.py', 'LEARNING_RATE = 0.5', 'LEARNING_RATE = 0.1')}`,
      `DESCRIPTION: faster learning with momentum and decay\n${block('train.py', 'LEARNING_RATE = 0.01', 'LEARNING_RATE = 0.1')}\n${block('train.py', 'MOMENTUM = 0.0', 'MOMENTUM = 0.9')}\n${block('train.py', 'LR_DECAY = 0.0', 'LR_DECAY = 0.9')}`
    ])
    server = scripted.server
    const identity = Identity.generate()
    const retries: string[] = []
    const sandbox = selectBackend()
    let sandboxSteps = 0
    const backend: SandboxBackend = { name: sandbox.name, ...(sandbox.entersDisk === undefined ? {} : { entersDisk: sandbox.entersDisk }), run: async (spec) => { sandboxSteps++; return sandbox.run(spec) } }
    const worker = new Worker({ client: await net.client(identity), identity, agent: openaiAgent({ baseUrl: scripted.url, model: 'scripted', onRetry: (e) => retries.push(e) }), stateDir: join(net.scratch, 'worker'), backend })
    const events: WorkerEvent[] = []
    worker.on('event', (e) => events.push(e))

    await worker.step() // malformed, protected file, does not apply: three refused answers, no experiment
    expect(retries).toEqual([expect.stringMatching(/DESCRIPTION/), expect.stringMatching(/not an editable file/), expect.stringMatching(/does not occur/)])
    expect(scripted.requests[1]!.messages.at(-1)!.content).toContain('could not be used')
    expect(events.some((e) => e.type === 'no-proposal')).toBe(true)

    await worker.step() // the real improvement: kept, confirmed, submitted
    const submitted = events.find((e) => e.type === 'submitted')
    expect(submitted, JSON.stringify(events.map((e) => e.type))).toBeDefined()
    expect(scripted.requests[3]!.messages[1]!.content).toContain('LEARNING_RATE = 0.01')

    expect(await net.verifyAll()).toBeGreaterThan(0)
    const stepsBefore = sandboxSteps
    await worker.step()
    const verdict = events.find((e) => e.type === 'verdict')
    expect(verdict).toMatchObject({ status: { state: 'merged' } })
    // The new best is its own submission, whose tree it ran already (experiment and confirmation): following it runs nothing.
    expect(events.filter((e) => e.type === 'best').at(-1)).toMatchObject({ commit: net.best })
    expect(sandboxSteps).toBe(stepsBefore)
    expect(net.running.coordinator.status().merges).toBe(1)
    expect(worker.results.read().map((r) => r.status)).toContain('keep')
  })

  it('a command agent edits train.py; one that edits evaluate.py is reverted', async () => {
    net = await TestNetwork.start(TOY)
    const dir = mkdtempSync(join(tmpdir(), 'ar-cmd-'))
    const good = join(dir, 'good.sh')
    writeFileSync(good, '#!/bin/sh\nsed -i "s/^LEARNING_RATE = .*/LEARNING_RATE = 0.1/" train.py\necho "DESCRIPTION: raise the learning rate"\n')
    const bad = join(dir, 'bad.sh')
    writeFileSync(bad, '#!/bin/sh\necho "# pwned" >> evaluate.py\necho done\n')
    chmodSync(good, 0o755)
    chmodSync(bad, 0o755)
    const identity = Identity.generate()
    const reverted: string[][] = []
    const badWorker = new Worker({ client: await net.client(identity), identity, agent: commandAgent({ command: bad, onReverted: (p) => reverted.push(p) }), stateDir: join(dir, 'w1') })
    const badEvents: WorkerEvent[] = []
    badWorker.on('event', (e) => badEvents.push(e))
    await badWorker.step()
    expect(reverted).toEqual([['evaluate.py']])
    expect(badEvents.some((e) => e.type === 'no-proposal')).toBe(true)

    const goodWorker = new Worker({ client: await net.client(identity), identity, agent: commandAgent({ command: good }), stateDir: join(dir, 'w2') })
    const goodEvents: WorkerEvent[] = []
    goodWorker.on('event', (e) => goodEvents.push(e))
    await goodWorker.step()
    const experiment = goodEvents.find((e) => e.type === 'experiment')
    expect(experiment).toMatchObject({ row: { status: 'keep', description: 'raise the learning rate' } })
  })
})
