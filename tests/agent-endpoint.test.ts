import type { Server } from 'node:http'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Identity, MAX_ANSWER_BYTES } from '@autoresearch/protocol'
import { openaiAgent, Worker, type WorkerEvent } from 'autoresearch-worker'
import { manifestOf } from '../worker/test/fakes.ts'
import { ROOT } from './processes.ts'
import { TestNetwork } from './network.ts'
import { scriptedLlm } from './scripted-llm.ts'

const TOY = join(ROOT, 'examples', 'toy-regression')
const EDIT = 'DESCRIPTION: faster learning\ntrain.py\n<<<<<<< SEARCH\nLEARNING_RATE = 0.01\n=======\nLEARNING_RATE = 0.1\n>>>>>>> REPLACE'

describe('an OpenAI-compatible endpoint in trouble (issue 15, point 5)', () => {
  let net: TestNetwork | undefined
  let server: Server | undefined
  afterEach(async () => { server?.close(); await net?.stop(); net = undefined })

  it('a rate limit (429, Retry-After) and a server error before the answer cost time, not an experiment', async () => {
    net = await TestNetwork.start(TOY)
    const llm = await scriptedLlm([{ status: 429, headers: { 'retry-after': '1' } }, { status: 503 }, EDIT])
    server = llm.server
    const retries: Array<[string, number]> = []
    const identity = Identity.generate()
    const agent = openaiAgent({ baseUrl: llm.url, model: 'scripted', retryBaseMs: 50, temperature: null, tokenLimit: 'max_completion_tokens', maxTokens: 99, onRequestRetry: (reason, ms) => retries.push([reason, ms]) })
    const worker = new Worker({ client: await net.client(identity), identity, agent, stateDir: join(net.scratch, 'worker') })
    const events: WorkerEvent[] = []
    worker.on('event', (e) => events.push(e))
    await worker.run({ maxExperiments: 1 })
    expect(retries).toEqual([[expect.stringMatching(/answered 429/), 1000], [expect.stringMatching(/answered 503/), 100]])
    expect(llm.requests).toHaveLength(3)
    // The options reach the request as reasoning models need them.
    expect(llm.requests[0]).toMatchObject({ max_completion_tokens: 99 })
    expect(llm.requests[0]).not.toHaveProperty('temperature')
    expect(llm.requests[0]).not.toHaveProperty('max_tokens')
    const experiments = events.filter((e) => e.type === 'experiment')
    expect(experiments).toHaveLength(1)
    expect(experiments[0]).toMatchObject({ n: 1, row: { description: 'faster learning' } })
    expect(events.filter((e) => e.type === 'agent-error' || e.type === 'no-proposal')).toEqual([])
  })

  it('an answer over the size cap is refused unread, and not asked for again', async () => {
    const llm = await scriptedLlm([{ status: 200, body: 'x'.repeat(MAX_ANSWER_BYTES + 1) }])
    server = llm.server
    const agent = openaiAgent({ baseUrl: llm.url, model: 'scripted', retryBaseMs: 10 })
    const ctx = { manifest: manifestOf(), program: '# program', files: { 'train.py': 'LR = 1\n' }, recent: [], checkout: async () => {} }
    await expect(agent.propose(ctx)).rejects.toMatchObject({ name: 'AgentRequestError', message: expect.stringMatching(/more than 4194304 bytes/) })
    expect(llm.requests).toHaveLength(1)
  })

  it('an endpoint that stays down makes the worker pause, doubling, instead of spinning', async () => {
    net = await TestNetwork.start(TOY)
    const llm = await scriptedLlm([], { status: 503 })
    server = llm.server
    const identity = Identity.generate()
    const agent = openaiAgent({ baseUrl: llm.url, model: 'scripted', requestRetries: 1, retryBaseMs: 10 })
    const worker = new Worker({ client: await net.client(identity), identity, agent, stateDir: join(net.scratch, 'worker'), backoff: { minMs: 200, maxMs: 800 } })
    const events: WorkerEvent[] = []
    // Counted from the first failed proposal (before it the worker fetches and measures the best) for 3 s.
    const stop = new AbortController()
    worker.on('event', (e) => {
      if (e.type === 'agent-error' && !events.some((x) => x.type === 'agent-error')) setTimeout(() => { stop.abort() }, 3000)
      events.push(e)
    })
    const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(60_000)])
    await worker.run({ signal }).catch((err: unknown) => { if (!signal.aborted) throw err })
    expect(stop.signal.aborted).toBe(true)
    const failures = events.filter((e) => e.type === 'agent-error')
    const pauses = events.flatMap((e) => e.type === 'agent-backoff' ? [e.retryInMs] : [])
    expect(failures.length).toBeGreaterThan(0)
    expect(pauses.slice(0, 3)).toEqual([200, 400, 800].slice(0, Math.min(3, pauses.length)))
    expect(pauses.length).toBeGreaterThanOrEqual(failures.length - 1)
    // Each failed proposal is one request and its one retry; without the pause a proposal failed every ~20 ms (over 100 requests in 3 s).
    expect(llm.requests.length).toBeLessThanOrEqual(2 * failures.length + 2)
    expect(llm.requests.length).toBeLessThanOrEqual(14)
    expect(events.some((e) => e.type === 'experiment')).toBe(false)
  })
})
