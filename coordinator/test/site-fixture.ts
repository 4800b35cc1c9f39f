import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  commitWithChanges, type Hardware, CoordinatorClient, createNode, ensureBareRepo, hasCommit, Identity, packForSubmission, readFileAt, sha256Hex,
  type AutoresearchNode, type Job, type Verdict
} from '@autoresearch/protocol'
import type { Hono } from 'hono'
import { afterAll, beforeAll, expect } from 'vitest'
import { createHttpApp, type RunningCoordinator } from '../src/index.ts'
import { startFixture, type Fixture } from './fixture.ts'

const hardware = { class: 'site-test <b>cpu</b>', cpus: 2, gpus: [] }
const digest = sha256Hex('log')

/**
 * Drives a running coordinator without training: one submitter submits edits of
 * train.py, and the host's allowlisted verifier attests made-up paired trials, so a
 * merge or a rejection takes milliseconds. Used by the site's route and browser tests.
 */
export class SiteDriver {
  readonly running: RunningCoordinator
  readonly client: CoordinatorClient
  readonly submitter: Identity
  readonly verifier: Identity
  readonly gitdir: string
  readonly #node: AutoresearchNode
  /** The metric the next passing candidate improves on. */
  metric = 1

  private constructor (running: RunningCoordinator, node: AutoresearchNode, submitter: Identity, gitdir: string) {
    this.running = running
    this.#node = node
    this.submitter = submitter
    this.client = new CoordinatorClient(node, running.multiaddrs[0] as string)
    this.verifier = Identity.load(running.coordinator.paths.verifierIdentity)
    this.gitdir = gitdir
  }

  static async start (running: RunningCoordinator): Promise<SiteDriver> {
    const submitter = Identity.generate()
    const node = await createNode({ identity: submitter })
    const gitdir = join(mkdtempSync(join(tmpdir(), 'ar-site-')), 'repo.git')
    await ensureBareRepo(gitdir)
    return new SiteDriver(running, node, submitter, gitdir)
  }

  get causeId (): string { return this.running.coordinator.causeId }

  /** Submits an edit of train.py on the current best; returns the candidate's sequence number. */
  async submit (description: string, edit: (trainPy: string) => string = (t) => `${t}\n# ${description.slice(0, 40).replace(/\n/g, ' ')} ${Date.now()}\n`,
    extras: { profile?: { name?: string, team?: string }, hardware?: Hardware } = {}): Promise<number> {
    const best = this.running.coordinator.bestCommit()
    if (!await hasCommit(this.gitdir, best)) await this.client.sync(this.gitdir, best, [])
    const text = await readFileAt(this.gitdir, best, 'train.py') as string
    const commit = await commitWithChanges(this.gitdir, best, { 'train.py': edit(text) }, description)
    const { receipt } = await this.client.submit(this.submitter, {
      causeId: this.causeId, parent: best, candidate: commit, claimedMetric: this.metric - 0.05, logDigest: digest, description, ...extras
    }, await packForSubmission(this.gitdir, commit, best))
    return receipt.candidateSeq
  }

  /** Leases candidate `seq` and attests trials that pass clearly or fail clearly. */
  async verify (seq: number, outcome: 'pass' | 'fail'): Promise<Verdict> {
    const { job } = await this.client.lease(this.verifier, this.causeId, hardware)
    if (job === null || job.candidateSeq !== seq) throw new Error(`expected a job for candidate #${seq}, got ${JSON.stringify(job)}`)
    const b = this.metric
    const noise = [0.01, -0.01, 0.005, -0.005, 0]
    const candidate = (i: number): number => outcome === 'pass' ? b - 0.05 - i * 0.001 : b + (noise[i % noise.length] as number)
    const trials = (job as Job).seeds.map((seed, i) => ({ seed, baseline: b, candidate: candidate(i), baselineLogDigest: digest, candidateLogDigest: digest }))
    const { verdict } = await this.client.attest(this.verifier, { causeId: this.causeId, jobId: job.jobId, candidate: job.candidate, baseline: job.baseline, trials, hardware })
    if (verdict.state === 'accepted') this.metric = trials.reduce((a, t) => a + t.candidate, 0) / trials.length
    return verdict
  }

  async stop (): Promise<void> {
    await this.#node.stop()
  }
}

export const HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)> <b>bold</b> "quoted" & \'single\''
export const FORMULA = '=HYPERLINK("http://evil.example/?a,b","click")'
export const LONG = 'x'.repeat(5000)

/** Tiny RFC 4180 reader, enough to check the exports round-trip. */
export function parseCsv (text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++ } else if (ch === '"') quoted = false
      else cell += ch
    } else if (ch === '"') quoted = true
    else if (ch === ',') { row.push(cell); cell = '' } else if (ch === '\r' && text[i + 1] === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i++ } else cell += ch
  }
  return rows
}

export const scripts = (page: string): string[] => page.match(/<script\b[^>]*>/g) ?? []

/**
 * A coordinator with one merged candidate (hostile text, a long line), one rejected (a
 * formula) and one pending, opened before a file's tests and stopped after them.
 */
export class SiteScenario {
  f!: Fixture
  d!: SiteDriver
  /** The site without a rate limit, called through app.request(). */
  app!: Hono
  merged = 0
  rejected = 0
  pending = 0

  static use (): SiteScenario {
    const s = new SiteScenario()
    beforeAll(async () => { await s.#open() })
    afterAll(async () => { await s.d.stop(); await s.f.stop() })
    return s
  }

  readonly get = async (path: string, init?: RequestInit): Promise<Response> => this.app.request(path, init)

  async #open (): Promise<void> {
    this.f = await startFixture()
    this.d = await SiteDriver.start(this.f.running)
    this.merged = await this.d.submit(HOSTILE, (t) => `${t}\n# <script>alert("diff")</script> ${LONG}\n`)
    expect((await this.d.verify(this.merged, 'pass')).state).toBe('accepted')
    this.rejected = await this.d.submit(FORMULA)
    expect((await this.d.verify(this.rejected, 'fail')).state).toBe('rejected')
    this.pending = await this.d.submit('still waiting', (t) => `${t}\n# SECRET-PENDING-CHANGE\n`)
    this.app = createHttpApp(this.f.running.coordinator, { rateLimit: false })
  }
}
