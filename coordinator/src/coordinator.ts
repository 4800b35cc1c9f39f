import { EventEmitter } from 'node:events'
import * as fs from 'node:fs'
import git from 'isomorphic-git'
import {
  AttestRequest, bestTopic, gitFs, CandidateStatusRequest, createNode, exportPack, FetchRequest, handleRequests, Identity, InfoRequest, LeaseRequest, MANIFEST_FILE,
  metricSource, objectsMissing, type Job, removePartialFiles, parseManifestText, peerIdOf, PROTOCOL, readFileAt, SubmitRequest, UnknownCandidateError, UnknownCommitError,
  type AnnouncementBody, type AutoresearchNode, type CandidateStatusReply, type InfoReply, type Manifest, type NodeOptions
} from '@autoresearch/protocol'
import { BEST_REF, homePaths, loadConfig, lockHome, type Config, type HomePaths } from './home.ts'
import { intake } from './intake.ts'
import { rebaseCandidate, staleCandidates } from './rebase.ts'
import { Store } from './store.ts'
import { attest, lease, queueOrder, type StoredVerdict, type VerificationContext } from './verification.ts'

/** Stale candidates rebased per turn of the serial queue. */
const STALE_BATCH = 8

export interface CoordinatorOptions {
  home: string
  /** libp2p listen multiaddrs (default: all interfaces, TCP 4001). */
  listen?: string[]
}

export type CoordinatorEvent =
  | { type: 'receipt', candidateSeq: number, submitter: string, claimedMetric: number, description: string }
  | { type: 'submission-rejected', error: string, message: string, submitter?: string }
  | { type: 'leased', jobId: number, candidateSeq: number, verifier: string }
  | { type: 'stale', candidateSeq: number, reason: string }
  | { type: 'rebased', candidateSeq: number, newSeq: number }
  | { type: 'best-changed', commit: string, seq: number, kind: 'merge' | 'revert' }
  | { type: 'verdict', verdict: StoredVerdict }
  | { type: 'merged', mergeSeq: number, candidateSeq: number, commit: string, metric: number, baselineMetric: number }

export interface CauseStatus {
  cause: string
  causeId: string
  metric: Manifest['metric']
  /** `evaluator` (the frozen evaluate step measures it) or `stdout` (self-reported by train, re-run only). */
  metricSource: 'evaluator' | 'stdout'
  multiaddrs: string[]
  /** Peers connected over libp2p right now (workers, verifiers, watchers). */
  peers: number
  best: { commit: string, metric: number | null, seq: number }
  baselineMetric: number | null
  merges: number
  candidates: Record<string, number>
  verification: Manifest['verification']
}

/** Hosts one cause: publishes its best, takes submissions, leases verification and merges. */
export class Coordinator extends EventEmitter<{ event: [CoordinatorEvent] }> {
  readonly paths: HomePaths
  readonly store: Store
  readonly identity: Identity
  readonly config: Config
  readonly manifest: Manifest
  readonly program: string
  readonly causeId: string
  node?: AutoresearchNode
  #intakeChain: Promise<unknown> = Promise.resolve()
  readonly #verifierPeers: Set<string>
  #announced?: string
  #watch?: NodeJS.Timeout
  #unlock = (): void => {}

  private constructor (paths: HomePaths, store: Store, identity: Identity, config: Config, manifest: Manifest, program: string) {
    super()
    this.paths = paths
    this.store = store
    this.identity = identity
    this.config = config
    this.manifest = manifest
    this.program = program
    this.causeId = config.causeId
    this.#verifierPeers = new Set(config.verifiers.map(peerIdOf))
  }

  static async open (home: string): Promise<Coordinator> {
    const paths = homePaths(home)
    const config = loadConfig(paths)
    const unlock = lockHome(paths)
    try {
      return await Coordinator.#open(paths, config, unlock)
    } catch (err) {
      unlock()
      throw err
    }
  }

  static async #open (paths: HomePaths, config: Config, unlock: () => void): Promise<Coordinator> {
    const store = new Store(paths.database)
    try {
      const identity = Identity.load(paths.identity)
      const best = store.lastMerge()
      if (best === undefined) throw new Error(`${paths.database} has no initial best; the home is damaged`)
      const manifestText = await readFileAt(paths.gitdir, best.commit_oid, MANIFEST_FILE)
      if (manifestText === undefined) throw new Error(`best commit ${best.commit_oid} has no ${MANIFEST_FILE}`)
      const manifest = parseManifestText(manifestText)
      const program = await readFileAt(paths.gitdir, best.commit_oid, manifest.program) ?? ''
      const coordinator = new Coordinator(paths, store, identity, config, manifest, program)
      coordinator.#unlock = unlock
      // The home is locked to this process, so a file still being written was left by a crash.
      await removePartialFiles(paths.gitdir)
      await coordinator.recover()
      return coordinator
    } catch (err) {
      store.close()
      throw err
    }
  }

  /** After a crash between the database commit and the ref write, the ref follows the database. */
  async recover (): Promise<void> {
    const best = this.bestCommit()
    let ref: string | undefined
    try { ref = await git.resolveRef({ fs: gitFs, gitdir: this.paths.gitdir, ref: BEST_REF }) } catch { ref = undefined }
    if (ref !== best) await git.writeRef({ fs: gitFs, gitdir: this.paths.gitdir, ref: BEST_REF, value: best, force: true })
  }

  /**
   * Carries candidates left on an old best onto the current one (see rebase.ts), the
   * best claims first, at most `limit` at a time: after a merge a hundred may be
   * waiting, and intake waits while they are rebased. Returns how many are left.
   */
  async rebaseStale (limit = Infinity): Promise<number> {
    const best = this.bestCommit()
    const stale = queueOrder(this.manifest, staleCandidates(this.store, best))
    for (const candidate of stale.slice(0, limit)) {
      const outcome = await rebaseCandidate({ causeId: this.causeId, gitdir: this.paths.gitdir, store: this.store, manifest: this.manifest, identity: this.identity }, candidate, best)
      if (outcome.state === 'rebased') this.emit('event', { type: 'rebased', candidateSeq: candidate.seq, newSeq: outcome.newSeq })
      else this.emit('event', { type: 'stale', candidateSeq: candidate.seq, reason: outcome.reason })
    }
    return Math.max(0, stale.length - limit)
  }

  candidateStatus (seq: number): CandidateStatusReply {
    const c = this.store.candidate(seq)
    if (c === undefined) throw new UnknownCandidateError(`there is no candidate #${seq}`)
    const rebased = this.store.db.prepare('SELECT seq FROM candidates WHERE origin_seq = ? ORDER BY seq DESC LIMIT 1').get(c.origin_seq ?? seq) as { seq: number } | undefined
    const verdict = c.verdict === null ? null : JSON.parse(c.verdict) as StoredVerdict
    return { ok: true, seq, state: c.state, reason: c.reason, rebasedAs: c.state === 'rebased' ? rebased?.seq ?? null : null, meanImprovement: verdict?.meanImprovement ?? null }
  }

  /** Publishes a signed announcement when the best moved (by a merge here, or a revert from the admin command). */
  async announceIfMoved (): Promise<void> {
    const best = this.store.lastMerge()
    if (best === undefined || best.commit_oid === this.#announced) return
    await this.recover()
    const first = this.#announced === undefined
    this.#announced = best.commit_oid
    if (first) return
    const kind = best.kind === 'revert' ? 'revert' : 'merge'
    const body: AnnouncementBody = { type: 'announcement', causeId: this.causeId, best: { commit: best.commit_oid, metric: best.metric, seq: best.seq - 1 }, kind, time: Date.now() }
    this.emit('event', { type: 'best-changed', commit: best.commit_oid, seq: best.seq - 1, kind })
    const data = new TextEncoder().encode(JSON.stringify({ body, signature: this.identity.sign('announcement', body) }))
    await this.node?.services.pubsub.publish(bestTopic(this.causeId), data).catch(() => {})
  }

  bestCommit (): string {
    return (this.store.lastMerge() as { commit_oid: string }).commit_oid
  }

  get leaseMs (): number {
    const { train, evaluate, verification } = this.manifest
    const perRun = train.timeoutSeconds + (evaluate?.timeoutSeconds ?? 0)
    return (this.config.leaseSeconds ?? perRun * verification.trials * 2 + 60) * 1000
  }

  #verification (): VerificationContext {
    return { causeId: this.causeId, manifest: this.manifest, store: this.store, verifierMode: this.config.verifierMode, verifiers: new Set(this.config.verifiers), trustAfterAgreements: this.config.trustAfterAgreements, leaseMs: this.leaseMs, bestCommit: () => this.bestCommit() }
  }

  info (): InfoReply {
    const best = this.store.lastMerge() as { commit_oid: string, metric: number | null, seq: number }
    return {
      ok: true, causeId: this.causeId, coordinatorKey: this.identity.publicKey, manifest: this.manifest, program: this.program,
      best: { commit: best.commit_oid, metric: best.metric, seq: best.seq - 1 }
    }
  }

  status (): CauseStatus {
    const merges = this.store.merges()
    const best = merges[merges.length - 1] as (typeof merges)[number]
    return {
      cause: this.manifest.name,
      causeId: this.causeId,
      metric: this.manifest.metric,
      metricSource: metricSource(this.manifest),
      multiaddrs: this.node?.getMultiaddrs().map(String) ?? [],
      peers: new Set(this.node?.getConnections().map((c) => c.remotePeer.toString()) ?? []).size,
      best: { commit: best.commit_oid, metric: best.metric, seq: best.seq - 1 },
      baselineMetric: merges.find((m) => m.kind === 'merge')?.baseline_metric ?? null,
      merges: this.store.standingMerges().length,
      candidates: { queued: 0, verifying: 0, merged: 0, rejected: 0, stale: 0, rebased: 0, reverted: 0, ...this.store.countsByState() },
      verification: this.manifest.verification
    }
  }

  async start (opts: { listen?: string[], connections?: NodeOptions['connections'] } = {}): Promise<void> {
    const node = await createNode({ identity: this.identity, listen: opts.listen ?? ['/ip4/0.0.0.0/tcp/4001'], connections: opts.connections })
    this.node = node
    node.services.pubsub.subscribe(bestTopic(this.causeId))
    await this.announceIfMoved()
    this.watchBest()
    await handleRequests(node, PROTOCOL.info, InfoRequest, async () => this.info())
    await handleRequests(node, PROTOCOL.fetch, FetchRequest, async (req, ctx) => {
      const oids = await this.#objectsFor(req.want, req.have, ctx.remotePeer)
      if (oids.length === 0) return { ok: true, objects: 0, bytes: 0 }
      const pack = await exportPack(this.paths.gitdir, oids)
      await ctx.framed.writeJson({ ok: true, objects: oids.length, bytes: pack.byteLength })
      await ctx.framed.writeBytes(pack)
      return undefined
    })
    await handleRequests(node, PROTOCOL.submit, SubmitRequest, async (req, ctx) => {
      try {
        const pack = await ctx.framed.readBytes(this.manifest.limits.maxPackBytes)
        const { receipt, signature } = await this.#serially(async () => intake(this.#intakeContext(), req.body, req.signature, pack, ctx.remoteAddr))
        this.emit('event', { type: 'receipt', candidateSeq: receipt.candidateSeq, submitter: receipt.submitter, claimedMetric: req.body.claimedMetric, description: req.body.description })
        return { ok: true, receipt, signature }
      } catch (err) {
        this.emit('event', { type: 'submission-rejected', error: (err as Error).name, message: (err as Error).message, submitter: req.body.publicKey })
        throw err
      }
    })
    await handleRequests(node, PROTOCOL.candidate, CandidateStatusRequest, async (req) => this.candidateStatus(req.seq))
    await handleRequests(node, PROTOCOL.lease, LeaseRequest, async (req) => {
      let job: Job | null = null
      // Rebases run in batches, each its own turn in the queue, so submissions are taken in between.
      for (let remaining = 1; job === null && remaining > 0;) {
        ({ job, remaining } = await this.#serially(async () => {
          const remaining = await this.rebaseStale(STALE_BATCH)
          return { job: lease(this.#verification(), req.body, req.signature), remaining }
        }))
      }
      if (job !== null) this.emit('event', { type: 'leased', jobId: job.jobId, candidateSeq: job.candidateSeq, verifier: req.body.publicKey })
      return { ok: true, job, retryAfterMs: job === null ? 2000 : 0 }
    })
    await handleRequests(node, PROTOCOL.attest, AttestRequest, async (req) => {
      const outcome = await this.#serially(async () => {
        const result = attest(this.#verification(), req.body, req.signature)
        if (result.merged !== undefined) await this.recover()
        if (result.passedOnStaleParent !== undefined) await this.rebaseStale()
        return result
      })
      this.emit('event', { type: 'verdict', verdict: outcome.verdict })
      const merged = outcome.merged
      if (merged !== undefined) {
        this.emit('event', { type: 'merged', mergeSeq: merged.mergeSeq - 1, candidateSeq: merged.candidate.seq, commit: merged.candidate.commit_oid, metric: merged.metric, baselineMetric: merged.baselineMetric })
        await this.#serially(async () => this.announceIfMoved())
      }
      const { candidateSeq, state, meanImprovement, reason } = outcome.verdict
      return { ok: true, verdict: { candidateSeq, state, meanImprovement, reason } }
    })
  }

  /**
   * Merged commits are public; a pending candidate only to allowlisted verifiers (in
   * open mode anyone may verify, so anyone may fetch it; the first submitter of a
   * tree still owns it).
   */
  async #objectsFor (want: string, have: string[], remotePeer: string): Promise<string[]> {
    const published = this.store.isMergedCommit(want)
    const mayVerify = this.config.verifierMode === 'open' || this.#verifierPeers.has(remotePeer)
    const verifiable = !published && mayVerify && this.store.candidateByCommit(want) !== undefined
    if (!published && !verifiable) throw new UnknownCommitError(`commit ${want} is not published by this coordinator`)
    return objectsMissing(this.paths.gitdir, want, have)
  }

  #intakeContext () {
    return { causeId: this.causeId, manifest: this.manifest, gitdir: this.paths.gitdir, store: this.store, identity: this.identity, refusalsPerAddress: this.config.refusalsPerAddress }
  }

  /** Intake and decisions run one at a time, so sequence numbers and pack clean-up never interleave. */
  async #serially<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.#intakeChain.then(fn, fn)
    this.#intakeChain = run.catch(() => {})
    return run
  }

  /** Notices a best moved by another process (the admin `revert`) and announces it. */
  watchBest (intervalMs = 2000): void {
    this.#watch = setInterval(() => { void this.#serially(async () => this.announceIfMoved()).catch(() => {}) }, intervalMs)
    this.#watch.unref()
  }

  async stop (): Promise<void> {
    if (this.#watch !== undefined) clearInterval(this.#watch)
    await this.node?.stop()
    await this.#intakeChain
    this.store.close()
    this.#unlock()
  }
}
