import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { bestTopic, Identity, type AnnouncementBody, type CoordinatorClient, type InfoReply } from '@autoresearch/protocol'
import type { SandboxBackend } from '@autoresearch/runner'
import { searchAgent } from '../src/agents/search.ts'
import { Worker, type WorkerEvent } from '../src/worker.ts'
import { manifestOf } from './fakes.ts'
import { change, repoWith } from './git-fixture.ts'

/** A sandbox in which every step fails: no best runs on this machine. */
const broken: SandboxBackend = { name: 'broken', run: async () => ({ exitCode: 1, signal: null, timedOut: false, aborted: false, output: 'boom\n', durationMs: 1 }) }

describe('a worker with nothing to do on its best', () => {
  it('waits for the announcement of a new best, not a timer, and then follows it', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'ar-worker-wait-'))
    const { gitdir, root } = await repoWith({ 'train.py': 'LR = 0.1\n', 'evaluate.py': 'print(1)\n' }, join(stateDir, 'cause.git'))
    const next = await change(gitdir, root, { 'train.py': 'LR = 0.2\n' })
    const coordinator = Identity.generate()
    const causeId = 'c'.repeat(64)
    let best = { commit: root, metric: null as number | null, seq: 0 }
    const infos: string[] = []
    const pubsub = Object.assign(new EventTarget(), { subscribe: () => {} })
    const client = {
      node: { services: { pubsub } },
      info: async (): Promise<InfoReply> => { infos.push(best.commit); return { ok: true, causeId, coordinatorKey: coordinator.publicKey, manifest: manifestOf(), program: '', best } },
      sync: async () => ({ objects: 0 })
    } as unknown as CoordinatorClient
    const identity = Identity.generate()
    // A backoff of an hour: only the announcement can end the wait within the test.
    const worker = new Worker({ client, identity, agent: searchAgent({ seed: 1 }), stateDir, backend: broken, backoff: { minMs: 3_600_000, maxMs: 3_600_000 } })
    const events: WorkerEvent[] = []
    const seen = async (match: (e: WorkerEvent) => boolean): Promise<WorkerEvent> => events.find(match) ?? new Promise((resolve) => {
      const listener = (e: WorkerEvent): void => { if (match(e)) { worker.off('event', listener); resolve(e) } }
      worker.on('event', listener)
    })
    worker.on('event', (e) => events.push(e))
    const controller = new AbortController()
    const running = worker.run({ signal: controller.signal })

    expect(await seen((e) => e.type === 'waiting')).toMatchObject({ type: 'waiting', commit: root, retryInMs: 3_600_000, reason: expect.stringContaining('does not run here') })
    expect(infos).toEqual([root])

    best = { commit: next, metric: 0.5, seq: 1 }
    const body: AnnouncementBody = { type: 'announcement', causeId, best, kind: 'merge', time: Date.now() }
    const data = new TextEncoder().encode(JSON.stringify({ body, signature: coordinator.sign('announcement', body) }))
    pubsub.dispatchEvent(new CustomEvent('message', { detail: { topic: bestTopic(causeId), data } }))

    expect(await seen((e) => e.type === 'waiting' && e.commit === next)).toMatchObject({ retryInMs: 3_600_000 })
    expect(infos).toEqual([root, next])
    expect(events.map((e) => e.type).filter((t) => t !== 'phase' && t !== 'measuring')).toEqual(['waiting', 'announcement', 'waiting'])
    controller.abort()
    await running
    expect(worker.experiments).toBe(0)
  })
})
