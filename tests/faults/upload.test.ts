/**
 * A worker whose connection breaks while it uploads a submission: the coordinator
 * keeps nothing of the half-sent pack, stays up, and the worker's next attempt,
 * even after a restart of the worker, gets a receipt.
 */
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { commitWithChanges, createNode, Identity, PROTOCOL, readFileAt, type SubmissionBody } from '@autoresearch/protocol'
import { selectBackend, type SandboxBackend } from '@autoresearch/runner'
import { commandAgent, Worker, type WorkerEvent } from 'autoresearch-worker'
import { expectAlive, sleep, snapshot, startArena, type Arena } from '../adversarial/arena.ts'
import { submissionBody, submitCommit } from '../adversarial/messages.ts'
import { rawPack } from '../adversarial/git-objects.ts'
import { frame, rawStream } from '../adversarial/raw-frames.ts'
import { TestNetwork } from '../network.ts'
import { ROOT } from '../processes.ts'

describe('a worker disconnected mid-upload', () => {
  let arena: Arena
  beforeAll(async () => { arena = await startArena() })
  afterAll(async () => { await arena.stop() })

  it('leaves no candidate, nonce or pack behind, and the same submission later gets a receipt', async () => {
    const identity = Identity.generate()
    // Incompressible, so the pack is large enough to be cut in the middle.
    const text = await readFileAt(arena.gitdir, arena.best, 'train.py') as string
    const commit = await commitWithChanges(arena.gitdir, arena.best, { 'train.py': `${text}\n# ${randomBytes(300_000).toString('base64')}\n` }, 'big')
    const pack = await rawPack(arena.gitdir, commit, arena.best)
    const body: SubmissionBody = submissionBody(arena, identity, commit, pack)
    const before = await snapshot(arena.running)

    const node = await createNode({ identity })
    const raw = await rawStream(node, arena.net.address, PROTOCOL.submit)
    await raw.send(frame(JSON.stringify({ type: 'submit', body, signature: identity.sign('submission', body) })))
    const lengthPrefix = frame(pack).subarray(0, frame(pack).byteLength - pack.byteLength)
    await raw.send(lengthPrefix)
    await raw.send(pack.subarray(0, pack.byteLength >> 1))
    await node.stop() // the connection drops with half of the pack sent

    await sleep(500)
    expect(await snapshot(arena.running)).toEqual(before)
    await expectAlive(arena)

    const { receipt } = await submitCommit(arena, commit, { identity, pack })
    expect(receipt.candidate).toBe(commit)
    // A retry after a lost receipt: the same answer, nothing new stored.
    const again = await submitCommit(arena, commit, { identity, pack })
    expect(again.receipt).toEqual(receipt)
  })
})

const TOY = join(ROOT, 'examples', 'toy-regression')

describe('a worker whose coordinator goes away while it submits', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  it('keeps the unanswered submission in state.json and sends it once the coordinator is back, even after a worker restart', async () => {
    net = await TestNetwork.start(TOY)
    const network = net
    const identity = Identity.generate()
    const stateDir = join(net.scratch, 'worker')
    const real = selectBackend()
    // The coordinator is stopped when the worker starts confirming; trials wait for that, so the submission meets a closed port.
    let gate: Promise<void> = Promise.resolve()
    const backend: SandboxBackend = { name: real.name, run: async (spec) => { await gate; return real.run(spec) } }
    const script = join(net.scratch, 'improve.sh')
    fs.writeFileSync(script, '#!/bin/sh\nsed -i -e "s/^LEARNING_RATE = .*/LEARNING_RATE = 0.1/" -e "s/^MOMENTUM = .*/MOMENTUM = 0.9/" -e "s/^LR_DECAY = .*/LR_DECAY = 0.9/" train.py\necho "DESCRIPTION: momentum and decay"\n', { mode: 0o755 })
    const agent = commandAgent({ command: script })
    const first = new Worker({ client: await net.client(identity), identity, agent, stateDir, backend })
    const events: WorkerEvent[] = []
    first.on('event', (e) => {
      events.push(e)
      if (e.type === 'phase' && e.phase === 'confirming') gate = network.running.stop()
    })
    await first.step()
    const failed = events.find((e) => e.type === 'submit-failed')
    expect(failed, JSON.stringify(events.map((e) => e.type))).toMatchObject({ willRetry: true })
    const saved = JSON.parse(fs.readFileSync(join(stateDir, 'state.json'), 'utf8')) as { unsent: Array<{ fields: { candidate: string } }> }
    expect(saved.unsent).toHaveLength(1)

    await net.serveAgain()
    // A new worker process on the same state directory.
    const second = new Worker({ client: await net.client(identity), identity, agent: commandAgent({ command: 'true' }), stateDir, backend })
    const later: WorkerEvent[] = []
    second.on('event', (e) => later.push(e))
    await second.step()
    const submitted = later.find((e) => e.type === 'submitted')
    expect(submitted, JSON.stringify(later.map((e) => e.type))).toBeDefined()
    if (submitted?.type !== 'submitted') return
    expect(submitted.receipt.candidate).toBe(saved.unsent[0]?.fields.candidate)
    expect(net.running.coordinator.store.candidate(submitted.receipt.candidateSeq)?.commit_oid).toBe(submitted.receipt.candidate)
    const after = JSON.parse(fs.readFileSync(join(stateDir, 'state.json'), 'utf8')) as { unsent: unknown[], pending: number[] }
    expect(after.unsent).toEqual([])
    expect(after.pending).toContain(submitted.receipt.candidateSeq)
  })
})
