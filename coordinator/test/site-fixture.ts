import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  commitWithChanges, type Hardware, CoordinatorClient, createNode, ensureBareRepo, hasCommit, Identity, packForSubmission, readFileAt, sha256Hex,
  type AutoresearchNode, type Job, type Verdict
} from '@autoresearch/protocol'
import type { RunningCoordinator } from '../src/index.ts'

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
