import { readFileSync } from 'node:fs'
import type { Server } from 'node:http'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { experimentDiff, Identity, nearKey } from '@autoresearch/protocol'
import { openaiAgent, searchAgent, Worker, type WorkerEvent } from 'autoresearch-worker'
import { ROOT } from './processes.ts'
import { TestNetwork } from './network.ts'
import { scriptedLlm } from './scripted-llm.ts'

const TOY = join(ROOT, 'examples', 'toy-regression')
const edit = (description: string, from: string, to: string): string => `DESCRIPTION: ${description}\ntrain.py\n<<<<<<< SEARCH\n${from}\n=======\n${to}\n>>>>>>> REPLACE`
const SLOWER = edit('much slower learning', 'LEARNING_RATE = 0.01  # step size of SGD', 'LEARNING_RATE = 0.0001  # step size of SGD')
/** The same change as SLOWER, written with other spacing: the same edit to the network. */
const SLOWER_AGAIN = edit('try a tiny step size', 'LEARNING_RATE = 0.01  # step size of SGD', 'LEARNING_RATE=0.0001 # step size of SGD')
const WIDER = edit('wider hidden layer', 'HIDDEN_UNITS = 8', 'HIDDEN_UNITS = 16')
const FASTER = edit('a larger step size', 'LEARNING_RATE = 0.01  # step size of SGD', 'LEARNING_RATE = 0.03  # step size of SGD')

interface ApiExperiment { seq: number, worker: string, best: string, status: string, metric: number | null, description: string, diffHash: string, selfReported: boolean }

async function apiExperiments (net: TestNetwork, query = ''): Promise<ApiExperiment[]> {
  const res = await fetch(`${net.running.httpUrl}/api/experiments${query}`)
  expect(res.status).toBe(200)
  return ((await res.json()) as { experiments: ApiExperiment[] }).experiments
}

describe('a network that shares its experiments (issue 15, points 1 and 2)', () => {
  let net: TestNetwork | undefined
  let server: Server | undefined
  afterEach(async () => { server?.close(); await net?.stop(); net = undefined })

  it('two workers report every run, discards included; the API lists them and the TSV has autoresearch\'s columns', async () => {
    net = await TestNetwork.start(TOY)
    const workers = await Promise.all([1, 2].map(async (seed) => {
      const identity = Identity.generate()
      return { identity, worker: new Worker({ client: await net!.client(identity), identity, agent: searchAgent({ seed }), seed, stateDir: join(net!.scratch, `worker-${seed}`) }) }
    }))
    await Promise.all(workers.map(async ({ worker }) => { await worker.run({ maxExperiments: 4 }) }))
    const rows = workers.flatMap(({ worker }) => worker.results.read().filter((r) => r.description !== 'network best (initial)'))
    const best = net.running.coordinator.bestCommit()
    const listed = await apiExperiments(net, `?best=${best}`)
    // Every run in the workers' own results.tsv is in the shared log (a kept run confirmed and merged would be on another best: none here).
    expect(listed.length).toBeGreaterThanOrEqual(rows.length)
    expect(new Set(listed.map((e) => e.worker))).toEqual(new Set(workers.map((w) => w.identity.publicKey)))
    expect(listed.some((e) => e.status === 'discard')).toBe(true)
    for (const e of listed) {
      expect(e).toMatchObject({ best, selfReported: true })
      expect(e.description).not.toBe('')
      expect(e.status === 'crash' ? e.metric === null : typeof e.metric === 'number').toBe(true)
    }
    for (const r of rows) expect(listed.some((e) => e.description === r.description || e.description.includes(r.description))).toBe(true)
    // Paging: one at a time, following `next`, gives the same log.
    const paged: ApiExperiment[] = []
    let next: string | null = `/api/experiments?best=${best}&limit=1`
    for (let i = 0; next !== null && i < 100; i++) {
      const page = (await (await fetch(`${net.running.httpUrl}${next}`)).json()) as { experiments: ApiExperiment[], next: string | null }
      paged.push(...page.experiments)
      next = page.next
    }
    expect(paged.map((e) => e.seq)).toEqual(listed.map((e) => e.seq))

    const tsv = await (await fetch(`${net.running.httpUrl}/api/experiments.tsv`)).text()
    const lines = tsv.trim().split('\n')
    expect(lines[0]).toBe('commit\tmetric\tmemory_gb\tstatus\tdescription')
    expect(lines).toHaveLength(listed.length + 1)
    expect(lines.slice(1).every((l) => /^[0-9a-f]{7}\t(\d+\.\d{6})?\t\d+\.\d\t(keep|discard|crash)\t/.test(l))).toBe(true)
  })

  it('a worker\'s prompt carries another worker\'s discard on the same best, and the same edit is not run twice', async () => {
    net = await TestNetwork.start(TOY)
    const first = await scriptedLlm([SLOWER])
    const second = await scriptedLlm([SLOWER_AGAIN, WIDER])
    server = first.server
    const run = async (url: string, name: string): Promise<WorkerEvent[]> => {
      const identity = Identity.generate()
      const worker = new Worker({ client: await net!.client(identity), identity, agent: openaiAgent({ baseUrl: url, model: 'scripted' }), stateDir: join(net!.scratch, name), lookahead: false })
      const events: WorkerEvent[] = []
      worker.on('event', (e) => events.push(e))
      await worker.run({ maxExperiments: 1 })
      return events
    }
    try {
      const a = await run(first.url, 'a')
      expect(a.find((e) => e.type === 'experiment')).toMatchObject({ row: { status: 'discard', description: 'much slower learning' } })
      const b = await run(second.url, 'b')
      // B's first prompt shows A's discard, with its metric.
      const prompt = second.requests[0]?.messages.map((m) => m.content).join('\n') ?? ''
      const section = prompt.slice(prompt.indexOf('what other volunteers tried'), prompt.indexOf('end of what other volunteers tried'))
      expect(section).toMatch(/0\tdiscard\t\d+\.\d+\t.*much slower learning/)
      // B proposed the same change in other words: refused before it ran, and the agent told why.
      expect(b.filter((e) => e.type === 'duplicate')).toEqual([expect.objectContaining({ description: 'try a tiny step size', by: 'network' })])
      expect(second.requests).toHaveLength(2)
      expect(second.requests[1]?.messages.map((m) => m.content).join('\n')).toContain('- "try a tiny step size" was not run: tried on this best by the network')
      expect(b.filter((e) => e.type === 'experiment')).toEqual([expect.objectContaining({ row: expect.objectContaining({ description: 'wider hidden layer' }) })])
      const listed = await apiExperiments(net)
      expect(listed.map((e) => e.description)).toEqual(['much slower learning', 'wider hidden layer'])
      expect(new Set(listed.map((e) => e.diffHash)).size).toBe(2)
    } finally {
      second.server.close()
    }
  })

  it('a worker whose claims run out says so once and runs its edits unclaimed; claims follow the host\'s report allowance', async () => {
    // A host that allows one report (and so one claim) a minute, at most one at once.
    net = await TestNetwork.start(TOY, { reportsPerMinute: 1, reportBurst: 1 })
    const identity = Identity.generate()
    const worker = new Worker({ client: await net.client(identity), identity, agent: searchAgent({ seed: 3 }), seed: 3, stateDir: join(net.scratch, 'unclaimed'), lookahead: false })
    const events: WorkerEvent[] = []
    worker.on('event', (e) => events.push(e))
    await worker.run({ maxExperiments: 3 })
    // The first edit is claimed; the next two are not, and the volunteer is told once.
    expect(events.filter((e) => e.type === 'claim-failed')).toEqual([expect.objectContaining({ error: 'QuotaExceededError', message: expect.stringMatching(/1 claims per minute/) })])
    expect(events.filter((e) => e.type === 'experiment')).toHaveLength(3)
  })

  it('a proposal close to another worker\'s discard is asked again once, and the claim made on it is given back at once', async () => {
    net = await TestNetwork.start(TOY)
    const best = net.best
    const causeId = net.running.coordinator.causeId
    const before = { 'train.py': readFileSync(join(TOY, 'train.py'), 'utf8') }
    const lr = (value: string): Record<string, string> => ({ 'train.py': before['train.py'].replace('LEARNING_RATE = 0.01', `LEARNING_RATE = ${value}`) })
    // Another worker tried LEARNING_RATE 0.01 -> 0.02 on this best and discarded it.
    const tried = experimentDiff(before, lr('0.02'))
    const other = Identity.generate()
    await (await net.client(other)).report(other, causeId, [{
      best, commit: best, status: 'discard', metric: 0.9, noise: 0.01, seed: 1, description: 'LEARNING_RATE 0.01 -> 0.02',
      diff: tried.diff, diffHash: tried.diffHash, nearKey: nearKey(before, lr('0.02')) ?? undefined, time: Date.now()
    }])
    const llm = await scriptedLlm([FASTER, WIDER])
    server = llm.server
    const identity = Identity.generate()
    const worker = new Worker({ client: await net.client(identity), identity, agent: openaiAgent({ baseUrl: llm.url, model: 'scripted' }), stateDir: join(net.scratch, 'b'), lookahead: false })
    const events: WorkerEvent[] = []
    worker.on('event', (e) => events.push(e))
    await worker.run({ maxExperiments: 1 })
    expect(events.filter((e) => e.type === 'near-duplicate')).toEqual([expect.objectContaining({ description: 'a larger step size', near: 1 })])
    expect(events.filter((e) => e.type === 'experiment')).toEqual([expect.objectContaining({ row: expect.objectContaining({ description: 'wider hidden layer' }) })])
    // The worker claimed "a larger step size" before it learned it was close, and gave the claim back:
    // a third worker is granted that edit now, not in claimMinutes.
    const third = Identity.generate()
    const reply = await (await net.client(third)).claim(third, causeId, { best, diffHash: experimentDiff(before, lr('0.03')).diffHash, description: 'LEARNING_RATE 0.01 -> 0.03' })
    expect(reply.granted).toBe(true)
  })
})
