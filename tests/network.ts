import * as fs from 'node:fs'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  commitWithChanges, CoordinatorClient, createNode, ensureBareRepo, Identity, packForSubmission, readFileAt, sha256Hex,
  type AutoresearchNode, type Job, type Trial
} from '@autoresearch/protocol'
import { homePaths, initHome, serveCoordinator, type RunningCoordinator } from 'autoresearch-coordinator'
import { Verifier } from 'autoresearch-verifier'
import type { Agent } from 'autoresearch-worker'

/** A coordinator on loopback with real libp2p peers around it; restartable on the same home. */
export class TestNetwork {
  readonly home: string
  readonly scratch: string
  running!: RunningCoordinator
  readonly verifierIdentity: Identity
  readonly #nodes = new Map<string, AutoresearchNode>()

  private constructor (scratch: string) {
    this.scratch = scratch
    this.home = join(scratch, 'home')
    this.verifierIdentity = undefined as unknown as Identity
  }

  /** `config` is merged into the home's config.json; as a function it gets the config `init` wrote (to extend its verifier allowlist, say). */
  static async start (causeDir: string, config: Record<string, unknown> | ((initial: { verifiers: string[] }) => Record<string, unknown>) = {}): Promise<TestNetwork> {
    const net = new TestNetwork(mkdtempSync(join(tmpdir(), 'ar-net-')))
    await initHome(net.home, causeDir)
    const configPath = homePaths(net.home).config
    const initial = JSON.parse(fs.readFileSync(configPath, 'utf8')) as { verifiers: string[] }
    fs.writeFileSync(configPath, JSON.stringify({ ...initial, ...(typeof config === 'function' ? config(initial) : config) }))
    ;(net as { verifierIdentity: Identity }).verifierIdentity = Identity.load(homePaths(net.home).verifierIdentity)
    await net.#serve()
    return net
  }

  async #serve (listen = '/ip4/127.0.0.1/tcp/0'): Promise<void> {
    this.running = await serveCoordinator({ home: this.home, listen: [listen], httpPort: 0 })
  }

  /** Serves the home again on the address it had, after `running.stop()` (peers keep their address). */
  async serveAgain (): Promise<void> {
    await this.#serve(this.address.replace(/\/p2p\/.*$/, ''))
  }

  /** Stops the coordinator and starts it again on the same home (a new port). */
  async restart (): Promise<void> {
    await this.running.stop()
    await this.#serve()
  }

  get address (): string {
    return this.running.multiaddrs[0] as string
  }

  async client (identity: Identity): Promise<CoordinatorClient> {
    let node = this.#nodes.get(identity.publicKey)
    if (node === undefined) {
      node = await createNode({ identity })
      this.#nodes.set(identity.publicKey, node)
    }
    return new CoordinatorClient(node, this.address)
  }

  get best (): string {
    return this.running.coordinator.bestCommit()
  }

  /** Submits `train.py` transformed, on the current best (or `parent`), from `identity`'s own repository. */
  async submitEdit (identity: Identity, transform: (trainPy: string) => string, opts: { claimedMetric?: number, parent?: string } = {}): Promise<number> {
    const client = await this.client(identity)
    const gitdir = join(this.scratch, `repo-${identity.publicKey.slice(0, 8)}.git`)
    await ensureBareRepo(gitdir)
    const parent = opts.parent ?? this.best
    await client.sync(gitdir, parent, [])
    const text = await readFileAt(gitdir, parent, 'train.py') as string
    const commit = await commitWithChanges(gitdir, parent, { 'train.py': transform(text) }, 'edit')
    const { receipt } = await client.submit(identity, {
      causeId: this.running.coordinator.causeId, parent, candidate: commit, claimedMetric: opts.claimedMetric ?? 1.49, logDigest: sha256Hex(''), description: 'test edit'
    }, await packForSubmission(gitdir, commit, parent))
    return receipt.candidateSeq
  }

  async verifier (identity = this.verifierIdentity): Promise<Verifier> {
    return new Verifier({ client: await this.client(identity), identity, stateDir: join(this.scratch, `verifier-${identity.publicKey.slice(0, 8)}`) })
  }

  /** Lets the host's verifier work until nothing is left to lease. */
  async verifyAll (maxJobs = 50): Promise<number> {
    const verifier = await this.verifier()
    let jobs = 0
    while (jobs < maxJobs && await verifier.runOnce() === 0) jobs++
    return jobs
  }

  /** What the public site's API shows of a candidate: its diff, or null while it is hidden (and why). */
  async publicCandidate (seq: number): Promise<{ diff: unknown[] | null, diffHidden: string | null, provisional: boolean }> {
    const res = await fetch(`${this.running.httpUrl}/api/candidates/${seq}`)
    if (res.status !== 200) throw new Error(`GET /api/candidates/${seq}: ${res.status}`)
    return await res.json() as { diff: unknown[] | null, diffHidden: string | null, provisional: boolean }
  }

  state (seq: number): string | undefined {
    return this.running.coordinator.store.candidate(seq)?.state
  }

  /** Stops every peer and the coordinator, and removes the scratch directory. */
  async stop (): Promise<void> {
    await Promise.all([...this.#nodes.values()].map(async (n) => n.stop()))
    await this.running.stop()
    fs.rmSync(this.scratch, { recursive: true, force: true })
  }
}

/** Trials a verifier would attest for `job`, given rather than run: its candidate beats a seed-varied baseline of 1.5 by `gain` (0: no gain at all). */
export const givenTrials = (job: Job, gain: number): Trial[] => job.seeds.map((seed, i) => ({
  seed, baseline: 1.5 + seed / 1e6, candidate: 1.5 + seed / 1e6 - gain + i / 1000, baselineLogDigest: sha256Hex(''), candidateLogDigest: sha256Hex('')
}))

export const setConstant = (name: string, value: string | number) => (text: string): string => text.replace(new RegExp(`^${name} = .*$`, 'm'), `${name} = ${value}`)

/** A copy of a test cause (in a fresh temp dir) whose manifest's `verification` has `fields` added, and its `collaboration` `collaboration`. */
export function causeWith (causeDir: string, fields: Record<string, unknown>, collaboration: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'ar-cause-'))
  fs.cpSync(causeDir, dir, { recursive: true })
  const path = join(dir, 'autoresearch.json')
  const manifest = JSON.parse(fs.readFileSync(path, 'utf8')) as { verification: Record<string, unknown>, collaboration?: Record<string, unknown> }
  fs.writeFileSync(path, JSON.stringify({ ...manifest, verification: { ...manifest.verification, ...fields }, collaboration: { ...manifest.collaboration, ...collaboration } }, null, 2))
  return dir
}

/**
 * A scripted agent for a worker: each call takes the next edit of train.py (none left: it
 * proposes nothing); a step may wait for the test first. `seen` records the train.py each
 * proposal was asked on.
 */
export function scriptedAgent (steps: Array<{ edit: (text: string) => string, description: string, before?: Promise<void> }>, seen: string[] = []): Agent {
  let n = 0
  return {
    name: 'scripted',
    propose: async (ctx) => {
      const step = steps[n++]
      if (step === undefined) return null
      await step.before
      seen.push(ctx.files['train.py'] ?? '')
      return { edits: { 'train.py': step.edit(ctx.files['train.py'] ?? '') }, description: step.description }
    }
  }
}
