import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Identity } from '@autoresearch/protocol'
import { openaiPlanner, Planner, rulePlanner, searchAgent, Worker, type WorkerEvent } from 'autoresearch-worker'
import { scriptedLlm } from './scripted-llm.ts'
import { ROOT } from './processes.ts'
import { TestNetwork } from './network.ts'

const TOY = join(ROOT, 'examples', 'toy-regression')

/** Runs one of the project's commands to its end without blocking this process (the coordinator under test lives in it). */
async function runBin (bin: string, args: string[]): Promise<{ status: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [join(ROOT, bin), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c) => { stdout += c })
  child.stderr.on('data', (c) => { stderr += c })
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
  const status = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  clearTimeout(timer)
  return { status, stdout, stderr }
}

interface ApiHypothesis { id: number, text: string, state: string, results: Array<{ seq: number, worker: string, status: string, description: string, hypothesis: number | null }> }

describe('roles across the network (issue 15, point 4)', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  it('a planner posts hypotheses; two workers each claim a different one and test it; the site links each result to its hypothesis; the reporter\'s digest reaches the site and the agents', async () => {
    net = await TestNetwork.start(TOY)
    const plannerId = Identity.generate()
    const planner = new Planner({ client: await net.client(plannerId), identity: plannerId, source: rulePlanner(), stateDir: join(net.scratch, 'planner'), perRound: 4 })
    const ids = await planner.round()
    expect(ids).toEqual([1, 2, 3, 4])

    const workers = await Promise.all([1, 2].map(async (seed) => {
      const identity = Identity.generate()
      const worker = new Worker({ client: await net!.client(identity), identity, agent: searchAgent({ seed }), seed, stateDir: join(net!.scratch, `worker-${seed}`), lookahead: false })
      const events: WorkerEvent[] = []
      worker.on('event', (e) => events.push(e))
      return { identity, worker, events }
    }))
    await Promise.all(workers.map(async ({ worker }) => { await worker.run({ maxExperiments: 1 }) }))
    const taken = workers.map(({ events }) => events.flatMap((e) => e.type === 'hypothesis' ? [e.id] : [])[0])
    const [a, b] = taken
    expect(a).toBeGreaterThan(0)
    expect(b).toBeGreaterThan(0)
    // Claimed: the second worker was refused the first one's hypothesis and took another.
    expect(a).not.toBe(b)
    const experiments = workers.map(({ events }) => events.find((e) => e.type === 'experiment'))

    const res = await fetch(`${net.running.httpUrl}/api/hypotheses`)
    expect(res.status).toBe(200)
    const { hypotheses } = await res.json() as { hypotheses: ApiHypothesis[] }
    for (const [i, { identity }] of workers.entries()) {
      const h = hypotheses.find((x) => x.id === taken[i])
      expect(h).toMatchObject({ state: 'tested' })
      expect(h?.results).toEqual([expect.objectContaining({ worker: identity.publicKey, hypothesis: h?.id, description: (experiments[i] as { row: { description: string } }).row.description })])
    }
    expect(hypotheses.filter((h) => h.state === 'open')).toHaveLength(2)
    const page = await (await fetch(`${net.running.httpUrl}/hypotheses`)).text()
    expect(page).toContain(`id="h-${a}"`)
    // The page escapes text ("->" is "-&gt;").
    expect(page).toContain((experiments[0] as { row: { description: string } }).row.description.replace('>', '&gt;'))

    // The reporter: a digest of what was tried, on the site and in what agents read.
    const digest = net.running.coordinator.writeDigest()
    expect(digest.text).toMatch(/hypothesis #\d+ not tested yet/)
    const api = await (await fetch(`${net.running.httpUrl}/api/digest`)).json() as { digest: { seq: number, text: string } | null }
    expect(api.digest).toMatchObject({ seq: digest.seq, text: digest.text })
    const client = await net.client(Identity.generate())
    expect((await client.history(net.running.coordinator.bestCommit())).digest).toBe(digest.text)
  })

  it('a planner on an OpenAI-compatible model posts the hypotheses of its answer, after a rate limit, and its prompt fences the cause\'s text as data', async () => {
    net = await TestNetwork.start(TOY)
    const llm = await scriptedLlm([{ status: 429, headers: { 'retry-after': '0' } }, 'Here is my plan.\nHYPOTHESIS: Add momentum 0.9 to SGD\nsome chatter\nHYPOTHESIS: Decay the learning rate linearly to zero\n'])
    try {
      const id = Identity.generate()
      const planner = new Planner({ client: await net.client(id), identity: id, source: openaiPlanner({ baseUrl: llm.url, model: 'scripted', retryBaseMs: 10 }), stateDir: join(net.scratch, 'planner') })
      expect(await planner.round()).toEqual([1, 2])
      expect(llm.requests).toHaveLength(2)
      const prompt = llm.requests[1]?.messages.map((m) => m.content).join('\n') ?? ''
      expect(prompt).toMatch(/===== program\.md \(data\) =====\n[\s\S]+===== end of program\.md =====/)
      const client = await net.client(Identity.generate())
      expect((await client.history(net.running.coordinator.bestCommit())).hypotheses.map((h) => h.text)).toEqual(['Add momentum 0.9 to SGD', 'Decay the learning rate linearly to zero'])
    } finally {
      llm.server.close()
    }
  })

  it('`autoresearch-worker --role planner` posts a round of hypotheses and stops; `autoresearch-coordinator report` writes a digest', async () => {
    net = await TestNetwork.start(TOY)
    const run = await runBin('worker/bin/autoresearch-worker.js', ['--role', 'planner', '--max-rounds', '1', '--coordinator', net.address, '--identity', join(net.scratch, 'planner.key'), '--state', join(net.scratch, 'planner'), '--json'])
    expect(run.status, run.stderr).toBe(0)
    const planned = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string, ids?: number[] }).find((e) => e.event === 'planned')
    expect(planned?.ids?.length).toBeGreaterThan(0)
    const client = await net.client(Identity.generate())
    expect((await client.history(net.running.coordinator.bestCommit())).hypotheses.map((h) => h.id)).toEqual(planned?.ids)

    const bad = await runBin('worker/bin/autoresearch-worker.js', ['--role', 'reporter', '--coordinator', net.address])
    expect(bad.status).toBe(1)
    expect(bad.stderr).toMatch(/--role is worker or planner/)

    const report = await runBin('coordinator/bin/autoresearch-coordinator.js', ['report', '--home', net.home, '--json'])
    expect(report.status, report.stderr).toBe(0)
    const written = JSON.parse(report.stdout) as { seq: number, text: string }
    expect(written.text).toMatch(/^Findings on toy-regression/)
    expect(written.text).toContain('Open questions:')

    // With a model the reporter asks it to write the digest from those facts, which follow what it wrote.
    const llm = await scriptedLlm(['Raising the learning rate is still open; nothing was ruled out yet.'])
    try {
      const modelled = await runBin('coordinator/bin/autoresearch-coordinator.js', ['report', '--home', net.home, '--model', 'scripted', '--base-url', llm.url, '--json'])
      expect(modelled.status, modelled.stderr).toBe(0)
      const digest = JSON.parse(modelled.stdout) as { seq: number, text: string }
      expect(digest.seq).toBe(written.seq + 1)
      expect(digest.text).toMatch(/^Raising the learning rate is still open; nothing was ruled out yet\.\n\nFindings on toy-regression/)
      expect(llm.requests[0]?.messages.map((m) => m.content).join('\n')).toMatch(/===== facts \(data\) =====\nFindings on toy-regression[\s\S]+===== end of facts =====/)
      expect((await client.history(net.running.coordinator.bestCommit())).digest).toBe(digest.text)
    } finally {
      llm.server.close()
    }
  })
})
