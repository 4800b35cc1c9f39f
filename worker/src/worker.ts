import { EventEmitter } from 'node:events'
import * as fs from 'node:fs'
import { join } from 'node:path'
import {
  Announcement, AutoresearchError, bestTopic, changedPaths, commitTree, commitTreeOn, commitWithChanges, CoordinatorClient, ensureBareRepo, hasCommit, improvement, mergeTrees,
  packForSubmission, parseMessage, readFileAt, verifySignature, writeTreeTo,
  type AnnouncementBody, type CandidateStatusReply, type Hardware, type Identity, type InfoReply, type ReceiptBody
} from '@autoresearch/protocol'
import { runCommit, selectBackend, type SandboxBackend, type TrialResult } from '@autoresearch/runner'
import type { Agent } from './agents/types.ts'
import { ResultsLog, type ResultRow } from './results.ts'
import { assertNoLeaks, environmentSecrets, identitySecrets, type FileChange, type Secret } from './secrets.ts'

export interface WorkerOptions {
  client: CoordinatorClient
  identity: Identity
  agent: Agent
  /** Holds the local cause repository, results.tsv, prepared data and scratch runs. */
  stateDir: string
  /** Seed of the worker's own experiments; the confirmation run uses seed + 1. */
  seed?: number
  /** Where experiments run (default: the runner's bubblewrap sandbox; it refuses to start without one). */
  backend?: SandboxBackend
  /** How the volunteer appears on the leaderboard; also the author of local commits. */
  name?: string
  team?: string
  /** Recorded with each submission. */
  hardware?: Hardware
  /** Where the volunteer's secrets are looked up, so that no candidate carries them (default: process.env). */
  env?: Record<string, string | undefined>
  /** Variables whose values are secret whatever their name (an agent's API key variable). */
  secretEnv?: string[]
}

export type WorkerPhase = 'syncing' | 'measuring' | 'proposing' | 'training' | 'confirming' | 'submitting'

export type WorkerEvent =
  | { type: 'best', commit: string, networkMetric: number | null, localMetric: number, noise: number | null }
  | { type: 'phase', phase: WorkerPhase, n: number }
  | { type: 'resumed', experiments: number, base: string, local: string }
  | { type: 'rebased-local', commit: string, metric: number }
  | { type: 'experiment', n: number, row: ResultRow, localBest: number, logTail?: string }
  | { type: 'confirm', commit: string, baseline: number | null, candidate: number | null, passed: boolean }
  | { type: 'submitted', receipt: ReceiptBody, claimedMetric: number }
  | { type: 'submit-failed', error: string, message: string, willRetry: boolean }
  | { type: 'no-proposal', n: number }
  | { type: 'agent-error', n: number, error: string, message: string }
  | { type: 'verdict', status: CandidateStatusReply }
  | { type: 'announcement', body: AnnouncementBody }

interface Local { commit: string, metric: number }

/** What survives a restart (results.tsv holds the history; this holds where the loop stands). */
interface SavedState {
  base: Local
  local: Local
  keptSinceBase: string[]
  lastClaim?: number
  pending: number[]
  experiments: number
  noise: number | null
  unsent?: UnsentSubmission[]
}

type SubmissionFields = Parameters<CoordinatorClient['submit']>[1]

/** A submission the network did not answer (coordinator down, connection lost): sent again on the next step. */
interface UnsentSubmission { fields: SubmissionFields, attempts: number }

/** After this many unanswered attempts a submission is given up. */
const MAX_SEND_ATTEMPTS = 20

/**
 * Whether sending again can help: the coordinator did not answer, timed out, or had
 * no room. A refusal with a reason (bad parent, protected path, duplicate) is final.
 */
function isTransient (err: unknown): boolean {
  return !(err instanceof AutoresearchError) || ['TimeoutError', 'StorageFullError', 'InternalError'].includes(err.name)
}

/** Seeds the worker measures a new best on (beyond its own) to estimate its run-to-run noise. */
const NOISE_SEEDS = 2

/**
 * The volunteer's loop: fetch the best, let the agent propose an edit, run it,
 * keep or discard it, log it, and submit a confirmed gain beyond the cause's margin.
 */
export class Worker extends EventEmitter<{ event: [WorkerEvent] }> {
  readonly #opts: WorkerOptions
  readonly #gitdir: string
  readonly results: ResultsLog
  readonly #known = new Set<string>()
  readonly #tried = new Set<string>()
  #info?: InfoReply
  /** The network best this worker builds on, with its own measurement of it. */
  #base?: Local
  #local?: Local
  /** Descriptions of the edits kept on the current base, for the submission. */
  #keptSinceBase: string[] = []
  /** Our own measurement (first seed) of the last candidate submitted on this base. */
  #lastClaim?: number
  /** Results of the base per seed (the base changes only when the network best moves). */
  readonly #baseRuns = new Map<number, TrialResult>()
  /** Our submissions whose fate is not known yet, by candidate sequence number. */
  readonly #pending = new Set<number>()
  /** Submissions not answered yet, by candidate commit; kept in state.json across restarts. */
  readonly #unsent = new Map<string, UnsentSubmission>()
  #subscribed = false
  #experiments = 0
  /** Standard deviation of the best's metric over this worker's seeds; null until measured. */
  #noise: number | null = null
  readonly #statePath: string
  readonly #backend: SandboxBackend
  readonly #secrets: Secret[]
  #restored?: SavedState
  submissions = 0

  constructor (opts: WorkerOptions) {
    super()
    this.#opts = opts
    this.#gitdir = join(opts.stateDir, 'cause.git')
    fs.mkdirSync(opts.stateDir, { recursive: true })
    this.results = new ResultsLog(join(opts.stateDir, 'results.tsv'))
    this.#backend = opts.backend ?? selectBackend()
    this.#secrets = [...identitySecrets(opts.identity.seed), ...environmentSecrets(opts.env ?? process.env, opts.secretEnv)]
    this.#statePath = join(opts.stateDir, 'state.json')
    try {
      this.#restored = JSON.parse(fs.readFileSync(this.#statePath, 'utf8')) as SavedState
      this.#experiments = this.#restored.experiments
      for (const u of this.#restored.unsent ?? []) this.#unsent.set(u.fields.candidate, u)
    } catch {
      this.#restored = undefined
    }
  }

  get noise (): number | null { return this.#noise }

  /** Written after every step (temp file + rename), so a crash or Ctrl-C loses at most the step in flight. */
  #save (): void {
    if (this.#base === undefined || this.#local === undefined) return
    const state: SavedState = { base: this.#base, local: this.#local, keptSinceBase: this.#keptSinceBase, lastClaim: this.#lastClaim, pending: [...this.#pending], experiments: this.#experiments, noise: this.#noise, unsent: [...this.#unsent.values()] }
    fs.writeFileSync(`${this.#statePath}.tmp`, JSON.stringify(state))
    fs.renameSync(`${this.#statePath}.tmp`, this.#statePath)
  }

  #phase (phase: WorkerPhase): void {
    this.emit('event', { type: 'phase', phase, n: this.#experiments })
  }

  get seed (): number { return this.#opts.seed ?? 1 }
  get experiments (): number { return this.#experiments }

  async #run (commit: string, seed: number, signal?: AbortSignal, base = this.#base?.commit): Promise<TrialResult> {
    // The base is re-measured on the confirmation seed before every submission: measure it once.
    const cached = commit === base ? this.#baseRuns.get(seed) : undefined
    if (cached !== undefined) return cached
    const result = await this.#measure(commit, seed, signal)
    if (commit === base && result.ok) this.#baseRuns.set(seed, result)
    return result
  }

  async #measure (commit: string, seed: number, signal?: AbortSignal): Promise<TrialResult> {
    const info = this.#info as InfoReply
    // Prepare and evaluate always come from the network best's protected files.
    const protectedFrom = this.#base === undefined ? undefined : { gitdir: this.#gitdir, commit: this.#base.commit }
    return runCommit({
      gitdir: this.#gitdir, commit, manifest: info.manifest, seed,
      dataRoot: join(this.#opts.stateDir, 'data'), scratchRoot: join(this.#opts.stateDir, 'scratch'),
      backend: this.#backend, signal, ...(protectedFrom === undefined ? {} : { protectedFrom })
    })
  }

  /** Listens for the coordinator's signed announcements; one whose signature fails is ignored. */
  #subscribe (info: InfoReply): void {
    if (this.#subscribed) return
    this.#subscribed = true
    const topic = bestTopic(info.causeId)
    const pubsub = this.#opts.client.node.services.pubsub
    pubsub.subscribe(topic)
    pubsub.addEventListener('message', (evt) => {
      if (evt.detail.topic !== topic) return
      try {
        const { body, signature } = parseMessage(Announcement, evt.detail.data)
        if (body.causeId !== info.causeId || !verifySignature('announcement', body, signature, info.coordinatorKey)) return
        this.emit('event', { type: 'announcement', body })
      } catch {
        // Not a valid announcement: nothing to act on.
      }
    })
  }

  /** Asks about our submissions still in flight and reports each one that was decided. */
  async #checkSubmissions (signal?: AbortSignal): Promise<void> {
    for (const seq of [...this.#pending]) {
      const status = await this.#opts.client.candidate(seq, { signal })
      if (status.state === 'queued' || status.state === 'verifying') continue
      this.#pending.delete(seq)
      if (status.state === 'rebased' && status.rebasedAs !== null) this.#pending.add(status.rebasedAs)
      // A refused or stale claim no longer stands: the next submission need not beat it.
      if (status.state === 'rejected' || status.state === 'stale') this.#lastClaim = undefined
      this.emit('event', { type: 'verdict', status })
    }
  }

  /**
   * Follows the network. On the first call a saved state on the same best is resumed.
   * When the best moved, local improvements are carried onto it by a three-way merge
   * if that is clean and still better; otherwise the loop restarts from the new best.
   */
  async #follow (signal?: AbortSignal): Promise<void> {
    this.#info = await this.#opts.client.info({ signal })
    this.#subscribe(this.#info)
    if (this.#pending.size > 0) await this.#checkSubmissions(signal)
    const best = this.#info.best
    if (this.#base?.commit === best.commit) return
    await ensureBareRepo(this.#gitdir)
    const restored = this.#restored
    this.#restored = undefined
    if (restored !== undefined && restored.base.commit === best.commit && await hasCommit(this.#gitdir, restored.local.commit)) {
      this.#base = restored.base
      this.#local = restored.local
      this.#keptSinceBase = restored.keptSinceBase
      this.#lastClaim = restored.lastClaim
      this.#noise = restored.noise
      for (const seq of restored.pending) this.#pending.add(seq)
      this.#known.add(best.commit)
      this.emit('event', { type: 'resumed', experiments: this.#experiments, base: best.commit, local: restored.local.commit })
      return
    }
    this.#phase('syncing')
    if (!this.#known.has(best.commit)) {
      // Held to the cause's limits, as the coordinator's intake is: a coordinator cannot fill our disk.
      await this.#opts.client.sync(this.#gitdir, best.commit, [...this.#known].slice(-256), { signal, limits: this.#info.manifest.limits })
      this.#known.add(best.commit)
    }
    this.#phase('measuring')
    const previous = restored?.local ?? this.#local
    const previousBase = restored?.base ?? this.#base
    this.#baseRuns.clear()
    const measured = await this.#run(best.commit, this.seed, signal, best.commit)
    if (!measured.ok) throw new Error(`the published best does not run here (${measured.reason}): ${measured.message}\n${measured.logTail}`)
    this.#base = { commit: best.commit, metric: measured.metric }
    this.#baseRuns.set(this.seed, measured)
    this.#noise = await this.#estimateNoise(best.commit, measured.metric, signal)
    this.#local = { ...this.#base }
    const kept = this.#keptSinceBase
    this.#keptSinceBase = []
    this.#lastClaim = undefined
    this.results.append({ commit: best.commit, metric: measured.metric, memoryGb: measured.memoryGb, status: 'keep', description: `network best (${best.seq === 0 ? 'initial' : `merge ${best.seq}`})` })
    this.emit('event', { type: 'best', commit: best.commit, networkMetric: best.metric, localMetric: measured.metric, noise: this.#noise })
    if (previous !== undefined && previousBase !== undefined && previous.commit !== previousBase.commit) await this.#carryOver(previous.commit, previousBase.commit, kept, signal)
    this.#save()
  }

  /** Run-to-run noise of the best on this machine, from the worker's seed and NOISE_SEEDS more. */
  async #estimateNoise (commit: string, first: number, signal?: AbortSignal): Promise<number | null> {
    const metrics = [first]
    for (let i = 0; i < NOISE_SEEDS; i++) {
      const r = await this.#run(commit, this.seed + 2 + i, signal)
      if (r.ok) metrics.push(r.metric)
    }
    if (metrics.length < 2) return null
    const mean = metrics.reduce((a, b) => a + b, 0) / metrics.length
    return Math.sqrt(metrics.reduce((a, m) => a + (m - mean) ** 2, 0) / (metrics.length - 1))
  }

  /**
   * Three-way merge of local improvements onto the new best; kept only if clean and
   * still better. Only the local change (from the old base) is carried: after a revert
   * the new best is older than the old base, and the reverted merge must not come back.
   */
  async #carryOver (localCommit: string, oldBase: string, kept: string[], signal?: AbortSignal): Promise<void> {
    const info = this.#info as InfoReply
    const base = this.#base as Local
    const merged = await mergeTrees(this.#gitdir, localCommit, base.commit, { base: oldBase })
    if ('conflicts' in merged || merged.tree === (await commitTree(this.#gitdir, base.commit)).tree) return
    const description = `carried over: ${kept.join('; ')}`.slice(0, 300)
    const commit = await commitTreeOn(this.#gitdir, merged.tree, base.commit, description, this.#opts.name)
    const result = await this.#run(commit, this.seed, signal)
    if (!result.ok || improvement(info.manifest, base.metric, result.metric) <= 0) return
    this.#local = { commit, metric: result.metric }
    this.#keptSinceBase = [...kept]
    this.results.append({ commit, metric: result.metric, memoryGb: result.memoryGb, status: 'keep', description })
    this.emit('event', { type: 'rebased-local', commit, metric: result.metric })
  }

  /** One experiment: propose, commit, run, keep or discard, log; then maybe submit. */
  async step (signal?: AbortSignal): Promise<void> {
    await this.#follow(signal)
    for (const unsent of [...this.#unsent.values()]) await this.#send(unsent, signal)
    const info = this.#info as InfoReply
    const local = this.#local as Local
    const files: Record<string, string> = {}
    for (const path of info.manifest.editable) files[path] = await readFileAt(this.#gitdir, local.commit, path) ?? ''
    const n = ++this.#experiments
    this.#phase('proposing')
    let proposal: Awaited<ReturnType<Agent['propose']>>
    try {
      proposal = await this.#opts.agent.propose({
        manifest: info.manifest, program: info.program, files, recent: this.results.read().slice(-20), signal,
        checkout: async (dir) => { await writeTreeTo(this.#gitdir, local.commit, dir) }
      })
    } catch (err) {
      // A broken agent answer or endpoint costs one experiment, never the loop.
      if (signal?.aborted === true) return
      this.emit('event', { type: 'agent-error', n, error: (err as Error).name, message: (err as Error).message })
      return
    }
    if (proposal === null || Object.keys(proposal.edits).length === 0) {
      this.emit('event', { type: 'no-proposal', n })
      return
    }
    const editable = new Set(info.manifest.editable)
    const edits = Object.fromEntries(Object.entries(proposal.edits).filter(([path]) => editable.has(path)))
    const commit = await commitWithChanges(this.#gitdir, local.commit, edits, proposal.description, this.#opts.name)
    this.#phase('training')
    const result = await this.#run(commit, this.seed, signal)
    // Stopping mid-run is not a crash of the candidate: nothing is logged.
    if (!result.ok && result.reason === 'aborted') return
    let row: ResultRow
    if (!result.ok) {
      row = { commit, metric: 0, memoryGb: 0, status: 'crash', description: `${proposal.description} (${result.reason})` }
    } else if (improvement(info.manifest, local.metric, result.metric) > 0) {
      row = { commit, metric: result.metric, memoryGb: result.memoryGb, status: 'keep', description: proposal.description }
      this.#local = { commit, metric: result.metric }
      this.#keptSinceBase.push(proposal.description)
    } else {
      row = { commit, metric: result.metric, memoryGb: result.memoryGb, status: 'discard', description: proposal.description }
    }
    this.results.append(row)
    this.emit('event', { type: 'experiment', n, row, localBest: (this.#local as Local).metric, ...(result.ok ? {} : { logTail: result.logTail }) })
    this.#save()
    await this.#maybeSubmit(signal)
    this.#save()
  }

  async #maybeSubmit (signal?: AbortSignal): Promise<void> {
    const info = this.#info as InfoReply
    const base = this.#base as Local
    const local = this.#local as Local
    const margin = info.manifest.verification.minImprovement
    if (local.commit === base.commit || this.#tried.has(local.commit)) return
    // Beyond the cause's margin and beyond this machine's own run-to-run noise.
    if (improvement(info.manifest, base.metric, local.metric) <= Math.max(margin, this.#noise ?? 0)) return
    // A second submission on the same base must beat the first by the margin too,
    // or it only queues a near-duplicate that goes stale when the first merges.
    if (this.#lastClaim !== undefined && improvement(info.manifest, this.#lastClaim, local.metric) <= margin) return
    this.#tried.add(local.commit)
    // Confirm on a second seed before spending anyone's verification time.
    const confirmSeed = this.seed + 1
    this.#phase('confirming')
    const [baseline, candidate] = [await this.#run(base.commit, confirmSeed, signal), await this.#run(local.commit, confirmSeed, signal)]
    const passed = baseline.ok && candidate.ok && improvement(info.manifest, baseline.metric, candidate.metric) > margin
    this.emit('event', { type: 'confirm', commit: local.commit, baseline: baseline.ok ? baseline.metric : null, candidate: candidate.ok ? candidate.metric : null, passed })
    if (!passed || !candidate.ok) return

    // One candidate commit on the network best, whatever local chain led to it.
    const description = this.#keptSinceBase.slice(-10).join('; ').slice(0, 500) || 'improvement'
    const squashed = await commitTreeOn(this.#gitdir, (await commitTree(this.#gitdir, local.commit)).tree, base.commit, description, this.#opts.name)
    const claimedMetric = (local.metric + candidate.metric) / 2
    this.#phase('submitting')
    const profile = { ...(this.#opts.name === undefined ? {} : { name: this.#opts.name }), ...(this.#opts.team === undefined ? {} : { team: this.#opts.team }) }
    this.#lastClaim = local.metric
    await this.#send({
      fields: {
        causeId: info.causeId, parent: base.commit, candidate: squashed, claimedMetric, logDigest: candidate.logDigest, description,
        ...(this.#opts.hardware === undefined ? {} : { hardware: this.#opts.hardware }), profile
      },
      attempts: 0
    }, signal)
  }

  /**
   * Sends one submission. One the network did not answer stays in state.json and is
   * sent again on the next step, even after a restart; if the coordinator had kept
   * it, it answers the repeat with the receipt that was lost.
   */
  async #send (unsent: UnsentSubmission, signal?: AbortSignal): Promise<void> {
    const { fields } = unsent
    this.#unsent.set(fields.candidate, unsent)
    this.#save()
    try {
      await this.#assertNoSecrets(fields)
      const pack = await packForSubmission(this.#gitdir, fields.candidate, fields.parent)
      const { receipt } = await this.#opts.client.submit(this.#opts.identity, fields, pack, { signal })
      this.#unsent.delete(fields.candidate)
      this.submissions++
      this.#pending.add(receipt.candidateSeq)
      this.emit('event', { type: 'submitted', receipt, claimedMetric: fields.claimedMetric })
    } catch (err) {
      unsent.attempts++
      if ((err as Error).name === 'SecretLeakError') this.#dropLeaked()
      const willRetry = isTransient(err) && unsent.attempts < MAX_SEND_ATTEMPTS
      if (!willRetry) this.#unsent.delete(fields.candidate)
      this.emit('event', { type: 'submit-failed', error: (err as Error).name, message: (err as Error).message, willRetry })
    }
    this.#save()
  }

  /** What the candidate adds to its parent, its description included (it travels in the commit message). */
  async #assertNoSecrets (fields: SubmissionFields): Promise<void> {
    const changes: FileChange[] = [{ path: 'the description', after: fields.description }]
    for (const { path, change } of await changedPaths(this.#gitdir, fields.parent, fields.candidate)) {
      if (change === 'deleted') continue
      changes.push({ path, before: await readFileAt(this.#gitdir, fields.parent, path), after: await readFileAt(this.#gitdir, fields.candidate, path) ?? '' })
    }
    assertNoLeaks(fields.candidate, changes, this.#secrets)
  }

  /** Work that carries a secret is not built on: the loop goes on from the network best. */
  #dropLeaked (): void {
    if (this.#base === undefined) return
    this.#local = { ...this.#base }
    this.#keptSinceBase = []
    this.#lastClaim = undefined
  }

  /** Runs experiments until `signal` aborts or `maxExperiments` have run. */
  async run (opts: { signal?: AbortSignal, maxExperiments?: number } = {}): Promise<void> {
    while (opts.signal?.aborted !== true && (opts.maxExperiments === undefined || this.#experiments < opts.maxExperiments)) {
      await this.step(opts.signal)
    }
  }
}
