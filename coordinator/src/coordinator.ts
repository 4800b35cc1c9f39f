import { EventEmitter } from 'node:events'
import * as fs from 'node:fs'
import git from 'isomorphic-git'
import { logger } from '@libp2p/logger'
import {
  AttestRequest, bestTopic, CandidateStatusRequest, ClaimRequest, createNode, HypothesesRequest, FetchRequest, gitFs, HistoryRequest, Identity, InfoRequest, LeaseRequest, MANIFEST_FILE, parseManifestText,
  PROTOCOL, readFileAt, removePartialFiles, ReportRequest, SubmitRequest, UsageError, type AutoresearchNode, type CandidateStatusReply, type LeaseRequestBody, type Manifest, type NodeOptions
} from '@autoresearch/protocol'
import { Announcer } from './handlers/announce.ts'
import { attestHandler } from './handlers/attest.ts'
import { candidateStatus, candidateStatusHandler } from './handlers/candidate-status.ts'
import { fetchHandler } from './handlers/fetch.ts'
import { BestRunsMemo } from './best-runs.ts'
import { historyHandler } from './handlers/history.ts'
import { infoHandler } from './handlers/info.ts'
import { leaseHandler, STALE_BATCH } from './handlers/lease.ts'
import { LeaseHolds, verifiersToWake } from './handlers/lease-holds.ts'
import { LeaseExpiry } from './handlers/lease-expiry.ts'
import { HolderWaits } from './handlers/holder-waits.ts'
import { reportHandler } from './handlers/report.ts'
import { route, type Route } from './handlers/route.ts'
import { Claims } from './claims.ts'
import { claimHandler } from './handlers/claim.ts'
import { hypothesesHandler } from './handlers/hypotheses.ts'
import { HYPOTHESIS_RATE, ReportRate, SHARED_PER_ADDRESS, type SharedContext } from './shared-intake.ts'
import { addressKey } from './policy.ts'
import { submitHandler } from './handlers/submit.ts'
import { writeVerdictNotes } from './git-http/notes.ts'
import { BEST_REF, ensureHeadIsBest, homePaths, loadConfig, lockHome, type Config, type HomePaths } from './home.ts'
import type { IntakeContext } from './intake.ts'
import { buildGroup } from './group.ts'
import { formBatch, Unformed } from './batch.ts'
import { countsNow } from './verifier-trust.ts'
import { CarryPlanner } from './carry-plan.ts'
import { WarmRoster } from './warm-roster.ts'
import { rebaseCandidate, type RebaseContext, type RebaseOutcome } from './rebase.ts'
import { reportDigest } from './report.ts'
import { causeStatus, type CauseStatus } from './status.ts'
import { Store, type CandidateRow, type MergeRow } from './store/index.ts'
import { promote, type LeaseOptions, type LeaseOutcome, type VerificationContext } from './verification.ts'
import { driveCarries, Speculation, speculativeLease } from './speculate.ts'
import type { CoordinatorEvent } from './events.ts'
import { CONNECTION_LOG, ConnectionLog, type PeerChange, type PeerSummary } from './connection-log.ts'

export type { CauseStatus, CoordinatorEvent }

const log = logger('autoresearch:coordinator')

/** Loopback only: a host opens the cause to other machines on purpose (`serve --listen /ip4/0.0.0.0/tcp/4001`). */
export const DEFAULT_LISTEN = ['/ip4/127.0.0.1/tcp/4001']

/** The home's database or repository lacks what `init` wrote; the operator restores it from a backup. */
export class DamagedHomeError extends UsageError { override name = 'DamagedHomeError' }

export interface CoordinatorOptions {
  home: string
  /** libp2p listen multiaddrs (default: DEFAULT_LISTEN, loopback only). */
  listen?: string[]
}

/**
 * Hosts one cause: publishes its best, takes submissions, leases verification and merges.
 * Each wire message has its handler in handlers/ (the table is in `start`).
 */
/** The operator's view of peers coming and going (the `serve` command prints it; never on the public site, it holds addresses). */
export type PeerEvent = ({ type: 'peer' } & PeerChange) | ({ type: 'peers-summary' } & PeerSummary)

export class Coordinator extends EventEmitter<{ event: [CoordinatorEvent], peer: [PeerEvent] }> {
  readonly paths: HomePaths
  readonly store: Store
  readonly identity: Identity
  #config: Config
  readonly manifest: Manifest
  /** The program (program.md) at a best: `program` updates change it while serving (program-update.ts). */
  #program: { commit: string, text: string }
  readonly causeId: string
  node?: AutoresearchNode
  #intakeChain: Promise<unknown> = Promise.resolve()
  readonly #announcer = new Announcer(this)
  /** Lease requests held open until there is work (handlers/lease.ts); an event that may make a job leasable wakes as many as may take it. */
  readonly leaseHolds = new LeaseHolds()
  /** A timer at the first lease that may run out: its job goes back to the queue and as many held requests as may take it look (handlers/lease-expiry.ts). */
  readonly leaseExpiry = new LeaseExpiry(() => { void this.#leasesRanOut() })
  /** Leases that ended before this were counted by #leasesRanOut (or before this process began, when no request was held). */
  #expiredUpTo = Date.now()
  /** Which verifiers warm the current best's baselines (warm-roster.ts). */
  readonly warmRoster = new WarmRoster()
  /** Work held back for the verifier that holds its baselines, and each verifier's last look (handlers/holder-waits.ts). */
  readonly holderWaits = new HolderWaits((verifiers) => { this.leaseHolds.wakeVerifiers(verifiers) }, (at) => { this.leaseExpiry.watch(at) })
  /** The current best's verified runs, for `info` (best-runs.ts). */
  readonly bestRuns: BestRunsMemo
  /** Each identity's allowance of experiment reports, of claims and of hypotheses (shared-intake.ts). */
  readonly reportRate: ReportRate
  /** As many claims as reports (shared-intake.ts, SharedContext.claimRate). */
  readonly claimRate: ReportRate
  readonly planRate = new ReportRate(HYPOTHESIS_RATE, 'hypotheses')
  readonly #addressRate: ReportRate
  readonly #addressClaimRate: ReportRate
  readonly #addressPlanRate: ReportRate
  /** Workers' claims on edits and hypotheses (claims.ts). */
  readonly claims = new Claims()
  readonly #carry: CarryPlanner
  /** The speculation window, when the cause declares `verification.speculation` (speculate.ts). */
  readonly speculation?: Speculation
  #unlock = (): void => {}
  #reporting?: NodeJS.Timeout
  #peerWindows?: NodeJS.Timeout
  #configWatch?: NodeJS.Timeout
  /** Merges whose verdict note is written, with their reverted_at then (git-http/notes.ts). */
  readonly #noted = new Map<number, number | null>()

  private constructor (paths: HomePaths, store: Store, identity: Identity, config: Config, manifest: Manifest, program: { commit: string, text: string }) {
    super()
    this.paths = paths
    this.store = store
    this.identity = identity
    this.#config = config
    this.manifest = manifest
    this.#program = program
    this.causeId = config.causeId
    this.#carry = new CarryPlanner({ store, manifest })
    const declared = manifest.verification.speculation
    if (declared !== undefined) this.speculation = new Speculation(declared.window, store)
    this.bestRuns = new BestRunsMemo(store)
    this.reportRate = new ReportRate({ ...(config.reportsPerMinute === undefined ? {} : { perMinute: config.reportsPerMinute }), ...(config.reportBurst === undefined ? {} : { burst: config.reportBurst }) })
    this.claimRate = new ReportRate(this.reportRate.limits, 'claims')
    const perAddress = config.sharedPerAddress ?? SHARED_PER_ADDRESS
    this.#addressRate = this.reportRate.times(perAddress, 'this address')
    this.#addressClaimRate = this.claimRate.times(perAddress, 'this address')
    this.#addressPlanRate = this.planRate.times(perAddress, 'this address')
    this.on('event', (e) => {
      const n = verifiersToWake(e, manifest.verification.quorum)
      if (n > 0) this.leaseHolds.wake(n)
    })
  }

  /** When the first wait of a pass held for a larger merge group may end (Infinity: none is watched). */
  #holdEnds = Infinity

  /**
   * A pass waits for a larger merge group until `at` at most (rules/hold.ts; settle and the
   * carry planner say when): the lease timer takes a carry turn then, which merges it if its
   * wait is over (and watches the next wait), whether or not a verifier asks for work.
   */
  watchHold (at: number): void {
    if (at >= this.#holdEnds) return
    this.#holdEnds = at
    this.leaseExpiry.watch(at)
  }

  /**
   * Leases past their end go back to the queue, each waking as a verdict would, the timer is set
   * for the next, and a carry turn merges a held pass whose wait ended. Those a lease request
   * expired as it looked (verification.ts) count too: it took one job, and any others must not
   * wait for a held request's cap.
   */
  async #leasesRanOut (): Promise<void> {
    try {
      const { expired, next } = await this.serially(async () => {
        const now = Date.now()
        this.store.expireLeases(now)
        const expired = this.store.expiredBetween(this.#expiredUpTo, now)
        this.#expiredUpTo = now
        return { expired, next: this.store.firstLeaseExpiry() }
      })
      if (expired > 0) this.leaseHolds.wake(expired * verifiersToWake({ type: 'lease-ran-out' }, this.manifest.verification.quorum))
      this.leaseExpiry.watch(next)
      // Work held back for a holder that has not looked within its grace is anyone's now (rules/holder.ts).
      this.leaseExpiry.watch(this.holderWaits.due(Date.now()))
      // A pass held for a larger group may merge now (its wait ended: rules/hold.ts), whether or not a verifier asks.
      if (this.#holdEnds <= Date.now()) {
        this.#holdEnds = Infinity
        this.carryRest()
      } else {
        // The timer keeps one time: a lease that ran out first must not drop a hold's end.
        this.leaseExpiry.watch(this.#holdEnds)
      }
    } catch (err) {
      // The store closed under a stopping coordinator; else the next lease request expires them as it looks.
      log.error('putting leases that ran out back in the queue failed: %e', err)
    }
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
      if (best === undefined) throw new DamagedHomeError(`${paths.database} has no initial best; the home is damaged`)
      const manifestText = await readFileAt(paths.gitdir, best.commit_oid, MANIFEST_FILE)
      if (manifestText === undefined) throw new DamagedHomeError(`best commit ${best.commit_oid} has no ${MANIFEST_FILE}; the home is damaged`)
      const manifest = parseManifestText(manifestText)
      const program = await readFileAt(paths.gitdir, best.commit_oid, manifest.program) ?? ''
      const coordinator = new Coordinator(paths, store, identity, config, manifest, { commit: best.commit_oid, text: program })
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

  /**
   * After a crash between the database commit and the ref write, the ref follows the
   * database; so do the merges' verdict notes (git-http/notes.ts), which a clone fetches.
   */
  async recover (): Promise<void> {
    const best = this.bestCommit()
    let ref: string | undefined
    try {
      ref = await git.resolveRef({ fs: gitFs, gitdir: this.paths.gitdir, ref: BEST_REF })
    } catch (err) {
      log('%s cannot be read, writing it again: %e', BEST_REF, err)
    }
    if (ref !== best) await git.writeRef({ fs: gitFs, gitdir: this.paths.gitdir, ref: BEST_REF, value: best, force: true })
    await ensureHeadIsBest(this.paths.gitdir)
    // A note is a nicety beside the merge: a failure is retried at the next merge, revert or start.
    await writeVerdictNotes(this.paths.gitdir, this.store, this.manifest, this.#noted).catch((err) => { log.error('writing verdict notes failed: %e', err) })
  }

  /**
   * Carries candidates left on an old best onto the current one, as `CarryPlanner` decides
   * (merge groups, then rebases, the best claims first, at most `limit` at a time: after a
   * merge a hundred may be waiting, and intake waits while they are rebased). Returns how
   * many are left. `untilCarried`: stop at the first candidate carried onto the best (a lease
   * request waits on this turn, and most carries after a merge conflict: the best claim that
   * does not is work at once; the rest are carried in the next turns).
   */
  async rebaseStale (limit = Infinity, opts: { untilCarried?: boolean } = {}): Promise<number> {
    const best = this.bestCommit()
    const ctx = this.#rebaseContext()
    const plan = this.#carry.plan(best, limit)
    this.watchHold(plan.heldUntil)
    // The best moved: what is carried is planned again onto the new one (a chain merges link by link).
    if (plan.promote.length > 0 && await this.#promote(plan.promote[0] as CandidateRow)) return this.rebaseStale(limit, opts)
    for (const members of plan.groups) {
      const outcome = await buildGroup(ctx, members, best)
      if (outcome.state === 'grouped') this.emit('event', { type: 'grouped', groupSeq: outcome.groupSeq, members: outcome.members, kind: 'merge group' })
      for (const o of outcome.state === 'single' ? [outcome.outcome, ...outcome.others] : outcome.others) this.#rebased(o)
    }
    for (const [i, candidate] of plan.rebase.entries()) {
      const outcome = await rebaseCandidate(ctx, candidate, best)
      this.#rebased(outcome)
      if (opts.untilCarried === true && outcome.state === 'rebased') return plan.remaining + plan.rebase.length - i - 1
    }
    return plan.remaining
  }

  /** What a carry onto a new commit (rebase.ts, group.ts) reads and writes. */
  #rebaseContext (): RebaseContext {
    return { causeId: this.causeId, gitdir: this.paths.gitdir, store: this.store, manifest: this.manifest, identity: this.identity }
  }

  #carrying = false

  /**
   * Carries what is left on an old best onto the current one in the background, a batch per
   * turn of the serial queue (so intake goes on in between): a lease request stops at its first
   * clean carry (handlers/lease.ts), and the others' submitters should still learn soon that
   * theirs went stale. One such loop at a time; it ends when nothing is left or on stop.
   */
  carryRest (): void {
    if (this.#carrying) return
    this.#carrying = true
    void (async () => {
      try {
        for (let remaining = 1; remaining > 0 && !this.leaseHolds.closed;) {
          remaining = await this.serially(async () => this.leaseHolds.closed ? 0 : await this.rebaseStale(STALE_BATCH))
        }
      } catch (err) {
        log.error('carrying candidates onto the best failed: %e', err)
      } finally {
        this.#carrying = false
      }
    })()
  }

  /**
   * Merges a candidate that passed against the best while it was still a candidate (speculation,
   * verification.ts `promote`); any other that passed against the same commit then goes on as a
   * passer on an old best. The ref follows, then the announcement; a crash between leaves the
   * merge in the database, which `recover` follows at start.
   */
  async #promote (candidate: CandidateRow): Promise<boolean> {
    const merged = promote({ store: this.store, bestCommit: () => this.bestCommit() }, candidate)
    if (merged === undefined) return false
    this.speculation?.record('merged')
    await this.recover()
    this.emit('event', { type: 'merged', mergeSeq: merged.mergeIndex, candidateSeq: merged.candidate.seq, commit: merged.candidate.commit_oid, metric: merged.metric, baselineMetric: merged.baselineMetric })
    await this.announceIfMoved()
    return true
  }

  /**
   * With `verification.batch` declared, combines queued candidates on the best into one group
   * for this verifier to lease (batch.ts); a key that does not count gets no batch made for it.
   * Call it in the serial queue.
   */
  async batch (publicKey: string): Promise<void> {
    if (this.manifest.verification.batch === undefined || !countsNow(this.verificationContext(), publicKey)) return
    this.#batched(await formBatch(this.#rebaseContext(), publicKey, this.bestCommit(), { unformed: this.#unformed }))
  }

  /** Batches that did not form, not merged again (batch.ts). */
  readonly #unformed = new Unformed()

  #batched (formed: { groupSeq: number, members: number[] } | undefined): boolean {
    if (formed !== undefined) this.emit('event', { type: 'grouped', groupSeq: formed.groupSeq, members: formed.members, kind: 'batch' })
    return formed !== undefined
  }

  /** A speculative job for this verifier, or null (speculate.ts); call it in the serial queue. */
  async speculate (body: LeaseRequestBody, signature: string, opts: LeaseOptions): Promise<LeaseOutcome | null> {
    if (this.speculation === undefined) return null
    const ctx = this.#rebaseContext()
    const steps = speculativeLease({ ctx: { ...this.verificationContext(), store: this.store }, speculation: this.speculation }, body, signature, opts)
    return driveCarries(steps, async ({ candidate, tip }) => {
      // With batches declared, what goes onto the tip is a batch starting from this candidate, where one forms.
      if (this.manifest.verification.batch !== undefined && this.#batched(await formBatch(ctx, body.publicKey, this.bestCommit(), { onto: tip, from: candidate.seq, unformed: this.#unformed }))) return true
      const outcome = await rebaseCandidate(ctx, candidate, tip.commit_oid, { ahead: tip })
      if (outcome.state === 'rebased') this.#rebased(outcome)
      return outcome.state === 'rebased'
    })
  }

  #rebased (outcome: RebaseOutcome): void {
    if (outcome.state === 'rebased') this.emit('event', { type: 'rebased', candidateSeq: outcome.candidate.seq, newSeq: outcome.newSeq, ...(outcome.ownLines === undefined ? {} : { ownLines: outcome.ownLines }) })
    else this.emit('event', { type: 'stale', candidateSeq: outcome.candidate.seq, reason: outcome.reason })
  }

  candidateStatus (seq: number): CandidateStatusReply {
    return candidateStatus(this.store, seq)
  }

  /** Publishes a signed announcement when the best moved (by a merge here, or a revert from the admin command). */
  async announceIfMoved (): Promise<void> {
    await this.#announcer.announceIfMoved()
  }

  /** The standing best; a home always has one (`open` refuses a home without). */
  bestMerge (): MergeRow {
    return this.store.lastMerge() as MergeRow
  }

  bestCommit (): string {
    return this.bestMerge().commit_oid
  }

  /** The program at the start-up best (see currentProgram). */
  get program (): string {
    return this.#program.text
  }

  /** The cause's program as of `best` (read again only when the best moved: merges keep it, a `program` update changes it). */
  async currentProgram (best = this.bestCommit()): Promise<string> {
    if (this.#program.commit !== best) this.#program = { commit: best, text: await readFileAt(this.paths.gitdir, best, this.manifest.program) ?? '' }
    return this.#program.text
  }

  /** The home's config.json; `verifiers` follows the file while serving (watchConfig), the rest is read at start-up. */
  get config (): Config {
    return this.#config
  }

  /** Takes up a changed verifier allowlist (`verifiers add|remove`, another process) within `intervalMs`. */
  watchConfig (intervalMs = 2000): void {
    let seen = fs.statSync(this.paths.config).mtimeMs
    this.#configWatch = setInterval(() => {
      try {
        const mtime = fs.statSync(this.paths.config).mtimeMs
        if (mtime === seen) return
        seen = mtime
        const { verifiers } = loadConfig(this.paths)
        this.#config = { ...this.#config, verifiers }
        log('verifier allowlist reloaded: %d key(s)', verifiers.length)
      } catch (err) {
        // A config.json broken by hand keeps the allowlist it replaced; the next change is read again.
        log.error('could not reload %s: %e', this.paths.config, err)
      }
    }, intervalMs)
    this.#configWatch.unref()
  }

  get leaseMs (): number {
    const { train, evaluate, verification } = this.manifest
    const perRun = train.timeoutSeconds + (evaluate?.timeoutSeconds ?? 0)
    return (this.config.leaseSeconds ?? perRun * verification.trials * 2 + 60) * 1000
  }

  verificationContext (): VerificationContext {
    return { causeId: this.causeId, manifest: this.manifest, store: this.store, verifierMode: this.config.verifierMode, verifiers: new Set(this.config.verifiers), trustAfterAgreements: this.config.trustAfterAgreements, leaseMs: this.leaseMs, bestCommit: () => this.bestCommit() }
  }

  /** What the intake of shared messages (reports, claims, hypotheses) from `remoteAddr` reads and writes. */
  sharedContext (remoteAddr?: string): SharedContext {
    return {
      causeId: this.causeId, store: this.store, rate: this.reportRate, claimRate: this.claimRate, planRate: this.planRate, claims: this.claims, manifest: this.manifest,
      address: addressKey(remoteAddr), addressRate: this.#addressRate, addressClaimRate: this.#addressClaimRate, addressPlanRate: this.#addressPlanRate
    }
  }

  intakeContext (): IntakeContext {
    return { causeId: this.causeId, manifest: this.manifest, gitdir: this.paths.gitdir, store: this.store, identity: this.identity, refusalsPerAddress: this.config.refusalsPerAddress }
  }

  /** What `GET /api/status` answers (see status.ts). */
  status (): CauseStatus {
    return causeStatus(this)
  }

  /** The wire protocols this coordinator answers, and the file that handles each. */
  #routes (): Route[] {
    return [
      route(PROTOCOL.info, InfoRequest, infoHandler(this)),
      route(PROTOCOL.fetch, FetchRequest, fetchHandler(this)),
      route(PROTOCOL.submit, SubmitRequest, submitHandler(this)),
      route(PROTOCOL.candidate, CandidateStatusRequest, candidateStatusHandler(this)),
      route(PROTOCOL.lease, LeaseRequest, leaseHandler(this)),
      route(PROTOCOL.attest, AttestRequest, attestHandler(this)),
      route(PROTOCOL.report, ReportRequest, reportHandler(this)),
      route(PROTOCOL.history, HistoryRequest, historyHandler(this)),
      route(PROTOCOL.claim, ClaimRequest, claimHandler(this)),
      route(PROTOCOL.hypotheses, HypothesesRequest, hypothesesHandler(this))
    ]
  }

  async start (opts: { listen?: string[], connections?: NodeOptions['connections'] } = {}): Promise<void> {
    const node = await createNode({ identity: this.identity, listen: opts.listen ?? DEFAULT_LISTEN, connections: opts.connections })
    this.node = node
    this.#logPeers(node)
    node.services.pubsub.subscribe(bestTopic(this.causeId))
    await this.announceIfMoved()
    this.watchBest()
    this.watchConfig()
    // Leases handed out before a restart run out as their jobs would have.
    this.leaseExpiry.watch(this.store.firstLeaseExpiry())
    for (const r of this.#routes()) await r.register(node)
    // The watch on a held pass's wait (watchHold) lived in the process before: a carry turn
    // merges a pass whose wait ended meanwhile and watches the others, and tells submitters left
    // on an old best, without waiting for a verifier to ask for work.
    this.carryRest()
  }

  /** Emits `peer` events for connections opened and closed, as ConnectionLog rations them. */
  #logPeers (node: AutoresearchNode): void {
    const peers = new ConnectionLog()
    const emit = (out: { line?: PeerChange, summary?: PeerSummary }): void => {
      if (out.summary !== undefined) this.emit('peer', { type: 'peers-summary', ...out.summary })
      if (out.line !== undefined) this.emit('peer', { type: 'peer', ...out.line })
    }
    for (const [name, change] of [['connection:open', 'connected'], ['connection:close', 'disconnected']] as const) {
      node.addEventListener(name, (evt) => { emit(peers.note({ change, peer: evt.detail.remotePeer.toString(), address: evt.detail.remoteAddr.toString() }, Date.now())) })
    }
    this.#peerWindows = setInterval(() => { emit({ summary: peers.close(Date.now()) }) }, CONNECTION_LOG.windowMs)
    this.#peerWindows.unref()
  }

  /**
   * Intake and decisions run one at a time, so sequence numbers and pack clean-up never
   * interleave. A turn whose request was aborted while it waited is skipped.
   */
  async serially<T> (fn: () => Promise<T>, options: { signal?: AbortSignal } = {}): Promise<T> {
    const turn = async (): Promise<T> => {
      options.signal?.throwIfAborted()
      return await fn()
    }
    const run = this.#intakeChain.then(turn, turn)
    // The caller gets the turn's error from `run`; the chain only keeps the order.
    this.#intakeChain = run.catch((err) => { log.trace('a serial turn failed (its caller has the error): %e', err) })
    return await run
  }

  /** Writes a digest of the findings so far (report.ts) and says so. */
  writeDigest (at = Date.now()): { seq: number, text: string } {
    const digest = reportDigest(this.store, this.manifest, at)
    this.emit('event', { type: 'digest-written', seq: digest.seq })
    return digest
  }

  /** Writes a digest every `intervalMs` when experiments came in since the last one (`serve --report-every`). */
  reportEvery (intervalMs: number): void {
    let seen = this.store.experimentCount()
    this.#reporting = setInterval(() => {
      const now = this.store.experimentCount()
      if (now === seen) return
      seen = now
      try {
        this.writeDigest()
      } catch (err) {
        log.error('writing the digest failed: %e', err)
      }
    }, intervalMs)
    this.#reporting.unref()
  }

  /** Notices a best moved by another process (the admin `revert`) and announces it. */
  watchBest (intervalMs = 2000): void {
    this.#announcer.watch(intervalMs)
  }

  async stop (): Promise<void> {
    if (this.#reporting !== undefined) clearInterval(this.#reporting)
    if (this.#peerWindows !== undefined) clearInterval(this.#peerWindows)
    if (this.#configWatch !== undefined) clearInterval(this.#configWatch)
    this.leaseExpiry.close()
    this.leaseHolds.close()
    this.#announcer.stop()
    await this.node?.stop()
    await this.#intakeChain
    this.store.close()
    this.#unlock()
  }
}
