import { EventEmitter } from 'node:events'
import { setTimeout as delay } from 'node:timers/promises'
import { logger } from '@libp2p/logger'
import * as fs from 'node:fs'
import { join } from 'node:path'
import { commitTree, commitWithChanges, ensureBareRepo, experimentDiff, hasCommit, nearKey, type CoordinatorClient, type Hardware, type Identity, type InfoReply, type Manifest, type ReceiptBody } from '@autoresearch/protocol'
import { runCommit, selectBackend, type SandboxBackend } from '@autoresearch/runner'
import type { Agent } from './agents/types.ts'
import type { Trial, WorkerComponents } from './components.ts'
import { BestUnrunnableError } from './errors.ts'
import { describeError, type WorkerEvent, type WorkerPhase } from './events.ts'
import { AnnouncedBest, subscribeAnnouncements } from './operations/announcements.ts'
import { BaseRuns } from './operations/base-runs.ts'
import { confirm, type Confirmation } from './operations/confirm.ts'
import { deltaSince } from './operations/delta.ts'
import { experiment } from './operations/experiment.ts'
import { moveToBest } from './operations/follow.ts'
import { measureNoise, noiseNeeded, type NoiseFor } from './operations/noise.ts'
import { agentPause, newBestEndsPause, type AgentTrouble } from './operations/agent-backoff.ts'
import { editableFiles } from './operations/editable-files.ts'
import { NetworkHistory, type KnownHistory } from './operations/history.ts'
import { Lookahead, type Prepared, type ProposedOn } from './operations/lookahead.ts'
import { propose, type ProposeArgs, type Proposed } from './operations/propose.ts'
import { MAX_REPEATS, nearNote, unclaim, vet, type Vetting } from './operations/vet.ts'
import { experimentReport, leaksInReport, Reporter, type ReportOf } from './operations/reports.ts'
import { ownSeeds } from './operations/seeds.ts'
import { send } from './operations/send.ts'
import { beyondDoubtHere, squash, submissionFields, worthSubmitting } from './operations/submission.ts'
import { boldNow, boldStarts } from './operations/plateau.ts'
import { checkVerdicts, forgetTried, statusOf, undecided } from './operations/verdicts.ts'
import { adoptedPosition, measurePending, pendingToAdopt } from './operations/adopt.ts'
import { FailureStreak } from './failure-streak.ts'
import { ResultsLog } from './results.ts'
import { RunLogs } from './run-logs.ts'
import { environmentSecrets, identitySecrets } from './secrets.ts'
import { loadState, REMEMBERED, saveState, type Position, type SavedState, type UnsentSubmission } from './state.ts'

export type { WorkerEvent, WorkerPhase } from './events.ts'

const log = logger('autoresearch:worker')

/** How long the end of `run` waits for the last experiment reports to go out (they stay in state.json if not). */
const REPORT_FLUSH_MS = 10_000

export interface WorkerOptions {
  client: CoordinatorClient
  identity: Identity
  agent: Agent
  /** Holds the local cause repository, results.tsv, prepared data and scratch runs. */
  stateDir: string
  /**
   * Seed of the worker's own experiments; the confirmation run uses seed + 1. On a best that
   * verifiers of this hardware class measured, the loop runs on their seeds (operations/seeds.ts).
   */
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
  /**
   * With nothing to do on the best it has (it does not run here), `run` waits for the announcement of another best, and tries the same
   * one again after this backoff at the latest: doubling from minMs (default 1 s) to maxMs (60 s).
   * The same backoff paces an agent that fails or proposes nothing, in a row (operations/agent-backoff.ts).
   */
  backoff?: { minMs: number, maxMs: number }
  /**
   * `--also-verify`: before each experiment, one verification job if the coordinator has one
   * its verifiers cannot serve now (a Verifier made with `help`; this key's own candidates are
   * never leased to it). Its runs take the same machine, so never more than one per experiment.
   */
  alsoVerify?: { runOnce: (signal?: AbortSignal) => Promise<number> }
  /**
   * The next experiment is made ready (proposed, vetted, claimed, committed) while the current
   * one runs (default true; operations/lookahead.ts). One made ahead of a keep or a new best
   * is dropped and made again at once on the new files, which costs a slow agent one
   * proposal; false makes every proposal wait for the run before it.
   */
  lookahead?: boolean
  /**
   * Share experiments with the network (default true): report every run, read what others
   * tried, claim edits and hypotheses. False keeps the worker to itself, as workers were before
   * (the `shared` bench compares the two); it still never runs an edit twice on one best itself.
   */
  share?: boolean
}

/** Where the loop stands once it follows the network: the cause and its position on the best. */
interface Followed { info: InfoReply, at: Position }

/**
 * The loop goes on from the network best: what it kept on the best is dropped, and with
 * `dropClaim` the claim a further submission had to beat too.
 */
function backToBase (at: Pick<Position, 'base' | 'local' | 'keptSinceBase' | 'lastClaim' | 'submittedLocal' | 'submittedCandidate' | 'adopted'>, opts: { dropClaim?: boolean } = {}): void {
  Object.assign(at, { local: { ...at.base }, keptSinceBase: [], submittedLocal: undefined, submittedCandidate: undefined, adopted: undefined }, opts.dropClaim === true ? { lastClaim: undefined } : {})
}

/**
 * The volunteer's loop: fetch the best, let the agent propose an edit, run it,
 * keep or discard it, log it, and submit a confirmed gain beyond the cause's margin.
 * Each step is an operation of ./operations/; this class holds the loop's state and
 * wires them together.
 */
export class Worker extends EventEmitter<{ event: [WorkerEvent] }> {
  readonly results: ResultsLog
  /** The last runs' output (`<state>/logs`): a run's scratch directory goes with it. */
  readonly runLogs: RunLogs
  readonly #components: WorkerComponents
  readonly #runs: BaseRuns
  readonly #statePath: string
  /** Commits whose objects are here (the `have` list of a fetch). */
  readonly #known = new Set<string>()
  /** Local bests already confirmed once: never confirmed again (the newest kept in state.json across restarts). */
  readonly #tried = new Set<string>()
  /** Claims that could not be made: `claim-failed` is said once per streak of them. */
  readonly #claimFailures = new FailureStreak()
  /** Trees of our submissions the coordinator has receipted: the same files are not sent again unless that submission went stale (the newest kept in state.json). */
  readonly #submittedTrees = new Set<string>()
  /** Our submissions whose fate is not known yet, by candidate sequence number. */
  readonly #pending = new Set<number>()
  /** The local best each delta submission's tree was cut from (kept in state.json: a rejection after a restart still drops it). */
  readonly #deltaFrom = new Map<string, string>()
  /** The tree each submission in `#pending` sent (kept in state.json with it). */
  readonly #pendingTrees = new Map<number, string>()
  /** Submissions not answered yet, by candidate commit; kept in state.json across restarts. */
  readonly #unsent = new Map<string, UnsentSubmission>()
  readonly #announced = new AnnouncedBest()
  readonly #backoff: { minMs: number, maxMs: number }
  #at?: Position
  #restored?: SavedState
  #subscribed = false
  #experiments = 0
  #helper?: WorkerOptions['alsoVerify']
  readonly #lookahead?: Lookahead
  /** Proposals in a row that failed or were empty (operations/agent-backoff.ts). */
  readonly #agentTrouble: AgentTrouble = { errors: 0, empty: 0 }
  /** The best the empty proposals in `#agentTrouble` were asked on. */
  #emptyOn?: string
  /** What the network tried on the best (operations/history.ts). */
  readonly #history: NetworkHistory
  /** Every experiment, sent to the network (operations/reports.ts). */
  readonly #reporter: Reporter
  readonly #share: boolean
  /** Experiments in a row without a keep, across bests others moved (operations/plateau.ts). */
  #sinceKeep = 0
  /** Pending candidates measured here and not built on, on `best` (operations/adopt.ts): not measured again. */
  #declined: { best?: string, seqs: Set<number> } = { seqs: new Set() }
  submissions = 0

  constructor (opts: WorkerOptions) {
    super()
    fs.mkdirSync(opts.stateDir, { recursive: true })
    const gitdir = join(opts.stateDir, 'cause.git')
    const backend = opts.backend ?? selectBackend()
    this.results = new ResultsLog(join(opts.stateDir, 'results.tsv'))
    this.runLogs = new RunLogs(join(opts.stateDir, 'logs'))
    // Prepare and evaluate always come from the network best's protected files.
    const measure: Trial = async ({ manifest, commit, seed }, options = {}) => {
      const best = this.#runs.base
      const runLog = this.runLogs.start(commit, seed)
      const result = await runCommit({
        gitdir, commit, manifest, seed, dataRoot: join(opts.stateDir, 'data'), scratchRoot: join(opts.stateDir, 'scratch'),
        backend, signal: options.signal, onLine: (phase, line) => { runLog.line(phase, line) }, ...(best === undefined ? {} : { protectedFrom: { gitdir, commit: best } })
      })
      runLog.finish(result)
      return { ...result, log: runLog.path }
    }
    this.#runs = new BaseRuns(measure)
    this.#components = {
      client: opts.client, identity: opts.identity, agent: opts.agent, gitdir, seed: opts.seed ?? 1,
      name: opts.name, team: opts.team, hardware: opts.hardware, results: this.results, trial: this.#runs.trial,
      secrets: [...identitySecrets(opts.identity.seed), ...environmentSecrets(opts.env ?? process.env, opts.secretEnv)],
      emit: (event) => { this.emit('event', event) }
    }
    this.#backoff = opts.backoff ?? { minMs: 1000, maxMs: 60_000 }
    this.#helper = opts.alsoVerify
    if (opts.lookahead !== false) this.#lookahead = new Lookahead()
    this.on('event', (e) => {
      if (e.type === 'agent-error') this.#agentTrouble.errors++
      else if (e.type === 'no-proposal') this.#agentTrouble.empty++
    })
    this.#statePath = join(opts.stateDir, 'state.json')
    this.#restored = loadState(this.#statePath)
    if (this.#restored !== undefined) {
      this.#experiments = this.#restored.experiments
      for (const u of this.#restored.unsent ?? []) this.#unsent.set(u.fields.candidate, u)
      for (const commit of this.#restored.tried ?? []) this.#tried.add(commit)
      for (const tree of this.#restored.submittedTrees ?? []) this.#submittedTrees.add(tree)
      // Followed wherever the best is now: a submission that went stale meanwhile frees its files.
      for (const seq of this.#restored.pending) this.#pending.add(seq)
      for (const { seq, tree } of this.#restored.pendingTrees ?? []) this.#pendingTrees.set(seq, tree)
      for (const { tree, local } of this.#restored.deltas ?? []) this.#deltaFrom.set(tree, local)
    }
    const emit = this.#components.emit
    this.#share = opts.share !== false
    this.#history = new NetworkHistory(this.#share ? opts.client : undefined, emit)
    this.#reporter = new Reporter({ client: opts.client, identity: opts.identity, hardware: opts.hardware, emit }, this.#restored?.reports)
  }

  get noise (): number | null { return this.#at?.noise ?? null }
  get seed (): number { return this.#components.seed }
  get experiments (): number { return this.#experiments }

  #save (): void {
    if (this.#at === undefined) return
    saveState(this.#statePath, {
      ...this.#at, pending: [...this.#pending], experiments: this.#experiments, unsent: [...this.#unsent.values()], reports: this.#reporter.queued,
      // Sets keep insertion order: saveState keeps the newest of these.
      tried: [...this.#tried], submittedTrees: [...this.#submittedTrees],
      pendingTrees: [...this.#pendingTrees].map(([seq, tree]) => ({ seq, tree })),
      deltas: [...this.#deltaFrom].map(([tree, local]) => ({ tree, local }))
    })
  }

  /**
   * A local best whose files the network measured and rejected was most likely a lucky run
   * here (its confirmation too): kept, every later experiment would have to beat that luck,
   * and a worker alone could stay there. The loop goes back to the network best, as after a
   * confirmation that fails (`#unconfirmed`). So does a local best whose last edits went out
   * on their own (operations/delta.ts) and were rejected. A local best that moved on since was
   * measured on its own and stays.
   */
  async #dropRejected (trees: string[]): Promise<void> {
    const at = this.#at ?? this.#restored
    if (trees.length === 0 || at === undefined || at.local.commit === at.base.commit) return
    const tree = await this.#treeOf(at.local.commit)
    const deltaOfLocal = trees.some((t) => this.#deltaFrom.get(t) === at.local.commit)
    if (!deltaOfLocal && (tree === undefined || !trees.includes(tree))) return
    this.emit('event', { type: 'local-dropped', commit: at.local.commit, metric: at.local.metric })
    backToBase(at, { dropClaim: true })
    this.#save()
  }

  /**
   * The pending candidate the local chain starts with (operations/adopt.ts), followed to its
   * verdict: merged, it is the network's and no longer held apart; rejected or gone stale, what
   * was built on it here is dropped and the loop goes on from the network best (what this worker
   * sent on top of it is carried onto the best by the coordinator, without it).
   */
  async #followAdopted (options: { signal?: AbortSignal }): Promise<void> {
    const at = this.#at ?? this.#restored
    const adopted = at?.adopted
    if (at === undefined || adopted === undefined) return
    const status = await statusOf(this.#components.client, adopted.seq, options.signal)
    if (status !== undefined && undecided(status)) return
    if (status?.state === 'rebased' && status.rebasedAs !== null) at.adopted = { ...adopted, seq: status.rebasedAs }
    else if (status?.state === 'merged') at.adopted = undefined
    else {
      this.emit('event', { type: 'adopted-dropped', seq: adopted.seq, state: status?.state ?? 'unknown here' })
      backToBase(at, { dropClaim: true })
    }
    this.#save()
  }

  /**
   * Where the cause lets workers build on pending candidates and the loop has nothing of its own
   * on the best, it builds on the first candidate in the queue that beats the best here
   * (operations/adopt.ts): what it finds then goes on top of that one, verified once it merged.
   */
  async #buildOnPending (info: InfoReply, at: Position, options: { signal?: AbortSignal }): Promise<void> {
    if (!this.#share || !info.manifest.collaboration.buildOnPending) return
    if (at.local.commit !== at.base.commit || at.submittedLocal !== undefined || at.adopted !== undefined) return
    if (this.#declined.best !== at.base.commit) this.#declined = { best: at.base.commit, seqs: new Set() }
    const { pending } = await this.#history.on(at.base.commit, { ...options, fresh: true })
    const candidate = pendingToAdopt(info.manifest, { base: at.base, pending, self: this.#components.identity.publicKey, declined: this.#declined.seqs })
    if (candidate === undefined) return
    this.#declined.seqs.add(candidate.seq)
    let local: Position['local'] | undefined
    try {
      local = await measurePending(this.#components, { info, at, candidate, known: this.#known, n: this.#experiments, noiseFor: this.#noiseFor(info, at, this.#experiments, options) }, options)
    } catch (err) {
      if (options.signal?.aborted === true) throw err
      // Gone from the coordinator's reach (decided meanwhile, too large): the loop searches on the best.
      log('candidate #%d not built on: %e', candidate.seq, err)
      return
    }
    if (local === undefined) return
    this.#known.add(candidate.commit)
    this.#tried.add(candidate.commit)
    // Merged as it is, it is the new best: its run here stands (operations/base-runs.ts).
    this.#runs.sameTree(candidate.commit, candidate.commit)
    Object.assign(at, adoptedPosition(at, candidate, local))
    this.#save()
  }

  /** The tree of a commit in the worker's repository; undefined when it is not there. */
  async #treeOf (commit: string): Promise<string | undefined> {
    const { gitdir } = this.#components
    return await hasCommit(gitdir, commit) ? (await commitTree(gitdir, commit)).tree : undefined
  }

  #phase (phase: WorkerPhase): void {
    this.emit('event', { type: 'phase', phase, n: this.#experiments })
  }

  /**
   * Follows the network. On the first call a saved state on the same best is resumed;
   * when the best moved, the loop moves onto it (operations/follow.ts).
   */
  async #follow (options: { signal?: AbortSignal }): Promise<Followed> {
    const info = await this.#components.client.info(options)
    if (!this.#subscribed) {
      this.#subscribed = true
      subscribeAnnouncements(this.#components, info, this.#announced)
    }
    if (this.#pending.size > 0) {
      const { claimWithdrawn, released, rejected } = await checkVerdicts(this.#components, this.#pending, { ...options, trees: this.#pendingTrees })
      if (claimWithdrawn && this.#at !== undefined) this.#at.lastClaim = undefined
      // Never judged: carried onto the new best, the same files may be sent again (rules/same-tree.ts at the coordinator).
      for (const tree of released) this.#submittedTrees.delete(tree)
      // What stays submitted of the local chain may have been in it: the next submission carries the whole chain again.
      if (released.length > 0) for (const at of [this.#at, this.#restored]) if (at !== undefined) Object.assign(at, { submittedLocal: undefined, submittedCandidate: undefined })
      await forgetTried(this.#tried, released, async (commit) => await this.#treeOf(commit))
      await this.#dropRejected(rejected)
    }
    await this.#followAdopted(options)
    const best = info.best
    if (this.#at !== undefined && this.#at.base.commit === best.commit) return { info, at: this.#at }
    await ensureBareRepo(this.#components.gitdir)
    const restored = this.#restored
    this.#restored = undefined
    if (restored !== undefined && restored.base.commit === best.commit && await hasCommit(this.#components.gitdir, restored.local.commit)) {
      const { pending: _p, experiments: _e, unsent: _u, reports: _r, tried: _t, submittedTrees: _s, pendingTrees: _pt, deltas: _d, seeds, ...rest } = restored
      const at = { ...rest, seeds: seeds ?? ownSeeds(this.seed) }
      this.#known.add(best.commit)
      this.#runs.rebase(best.commit)
      this.#at = at
      this.emit('event', { type: 'resumed', experiments: this.#experiments, base: best.commit, local: restored.local.commit })
      return { info, at }
    }
    const previous = restored ?? this.#at
    // The agent proposes on the new best's files while the best is measured; not on a first best, which may not run here at all.
    const synced = previous === undefined ? undefined : (on: ProposedOn): void => { this.#ahead(info, on, this.#experiments + 1, options) }
    const at = await moveToBest(this.#components, { info, known: this.#known, previous, runs: this.#runs, n: this.#experiments, ...(synced === undefined ? {} : { synced }) }, options)
    this.#at = at
    this.#save()
    return { info, at }
  }

  /**
   * One experiment: propose, commit, run, keep or discard, log; then maybe submit. Returns
   * whether an experiment ran. With `ahead` the next experiment is made ready while this one
   * runs, and again on a keep's files while it is confirmed (operations/lookahead.ts): `run`
   * asks for it on every step but its last, and cancels what is left when it ends.
   */
  async step (options: { signal?: AbortSignal, ahead?: boolean } = {}): Promise<boolean> {
    const { info, at } = await this.#follow(options)
    this.#askingOn(at.base.commit)
    for (const unsent of [...this.#unsent.values()]) await this.#send(unsent, options)
    await this.#buildOnPending(info, at, options)
    const n = ++this.#experiments
    this.#phase('proposing')
    const history = await this.#history.on(at.base.commit, options)
    const bold = this.#plateau(info)
    const args: ProposeArgs = { info, commit: at.local.commit, n, history, ...(bold ? { bold } : {}) }
    const prepared = await this.#prepared(info, at, args, options)
    if (prepared === undefined) return false
    const { proposal } = prepared
    // Reset here, not on the experiment's event: a proposal made ahead may already have failed by then.
    Object.assign(this.#agentTrouble, { errors: 0, empty: 0 })
    if (options.ahead === true) this.#ahead(info, { base: at.base.commit, local: at.local.commit }, n + 1, options)
    const row = await experiment(this.#components, { manifest: info.manifest, local: at.local, proposal, commit: prepared.commit, seed: at.seeds.experiment, n, best: at.base.commit, diffHash: proposal.change.diffHash, noiseFor: this.#noiseFor(info, at, n, options) }, options)
    if (row === undefined) {
      // Stopped, not run: the next run (after a restart too) takes its number.
      this.#experiments = n - 1
      return false
    }
    this.#history.ran(at.base.commit, proposal.change.diffHash)
    this.#report(info, {
      best: at.base.commit, commit: row.commit, status: row.status, metric: row.status === 'crash' ? null : row.metric, noise: at.noise, seed: at.seeds.experiment,
      // A crash goes out with its reason, as results.tsv has it (publicText cuts any local path in it).
      description: row.status === 'crash' ? row.description : proposal.description, change: proposal.change, nearKey: proposal.nearKey, hypothesis: proposal.hypothesis
    })
    this.#sinceKeep = row.status === 'keep' ? 0 : this.#sinceKeep + 1
    if (row.status === 'keep' && row.metric !== null) {
      at.local = { commit: row.commit, metric: row.metric }
      at.keptSinceBase.push(proposal.description)
      // The one made ahead edits the files before the keep: the next is made on the kept ones while the find is confirmed.
      if (options.ahead === true) this.#ahead(info, { base: at.base.commit, local: row.commit }, n + 1, options)
    }
    this.#save()
    await this.#maybeSubmit(info, at, options)
    this.#save()
    return true
  }

  /**
   * The experiment to run: the one made ahead when it still applies and has not become a
   * repeat meanwhile (this worker's run before it, or the network's reports), else one made
   * now (testing a planner's hypothesis when one is open and this worker gets the claim).
   */
  async #prepared (info: InfoReply, at: Position, args: ProposeArgs, options: { signal?: AbortSignal }): Promise<Prepared | undefined> {
    const on = { base: at.base.commit, local: at.local.commit }
    const made = this.#lookahead === undefined ? { stale: false } : await this.#lookahead.take(on)
    if ('prepared' in made) {
      const ahead = made.prepared
      if (ahead === undefined) return undefined
      // What the worker knows now, without asking the coordinator again: the claim stands.
      const v = await vet(this.#components, { causeId: info.causeId, best: on.base, proposal: ahead.proposal, history: args.history, claim: false }, options)
      if (v.run) return ahead
      if (ahead.claimed) await unclaim(this.#components, { causeId: info.causeId, best: on.base, proposal: ahead.proposal }, options)
      return await this.#prepare(info, on, { ...args, notes: [this.#notRun(args.n, ahead.proposal, v)] }, undefined, options)
    }
    const hypothesis = this.#share ? await this.#takeHypothesis(info, on.base, args.history, options) : undefined
    return await this.#prepare(info, on, args, hypothesis, options)
  }

  /**
   * Makes an experiment ready on `on`: the agent's proposal, vetted, and its commit on the
   * local best. An edit tried on this best, or claimed by another worker, is not run; nor,
   * once, one close to others (same constants, same direction) that were not kept or are
   * claimed: the agent is told why and asked again, MAX_REPEATS times at most.
   */
  async #prepare (info: InfoReply, on: ProposedOn, args: ProposeArgs, hypothesis: ProposeArgs['hypothesis'], options: { signal?: AbortSignal }): Promise<Prepared | undefined> {
    const asked = { ...args, ...(hypothesis === undefined ? {} : { hypothesis }) }
    const notes = [...(args.notes ?? [])]
    let proposal = await propose(this.#components, asked, options)
    let nearAsked = false
    for (let turn = 0; proposal !== undefined; turn++) {
      const v = await vet(this.#components, { causeId: info.causeId, best: on.base, proposal, history: args.history, claim: this.#share }, options)
      this.#claimAnswered(v)
      // Close to edits that were kept is a direction that works: only a near miss or another's claim is worth a second thought.
      if (v.run && (nearAsked || v.near.every((e) => e.status === 'keep'))) {
        const commit = await commitWithChanges(this.#components.gitdir, on.local, proposal.edits, proposal.description, this.#components.name)
        return { proposal, claimed: this.#share && v.unclaimed === undefined, commit }
      }
      if (v.run) {
        nearAsked = true
        // Claimed, then not run: given back, so no other worker is refused it for the claim's minutes.
        await unclaim(this.#components, { causeId: info.causeId, best: on.base, proposal }, options)
        this.emit('event', { type: 'near-duplicate', n: args.n, description: proposal.description, near: v.near.length })
        notes.push(nearNote(proposal.description, v.near))
      } else {
        notes.push(this.#notRun(args.n, proposal, v))
      }
      if (turn + 1 > MAX_REPEATS) break
      proposal = await propose(this.#components, { ...asked, notes }, options)
    }
    // Every turn was a repeat (an agent that had nothing said so itself).
    if (proposal !== undefined) this.emit('event', { type: 'no-proposal', n: args.n })
    return undefined
  }

  /** Says that a proposal is not run (a repeat, or claimed by another worker), and returns the note that tells the agent why. */
  #notRun (n: number, proposal: Proposed, v: Extract<Vetting, { run: false }>): string {
    this.emit('event', { type: 'duplicate', n, description: proposal.description, diffHash: proposal.change.diffHash, by: v.by })
    return `"${proposal.description}" was not run: ${v.reason}`
  }

  /**
   * Starts making experiment `n` on `on` while the loop does something else (a run, a
   * confirmation, the measurement of a new best): operations/lookahead.ts.
   */
  #ahead (info: InfoReply, on: ProposedOn, n: number, options: { signal?: AbortSignal }): void {
    const lookahead = this.#lookahead
    if (lookahead === undefined) return
    this.#askingOn(on.base)
    const prepare = async (signal: AbortSignal): Promise<Prepared | undefined> => {
      const history = await this.#history.on(on.base, { signal })
      const bold = boldNow(this.#sinceKeep, info.manifest.collaboration.plateau)
      return await this.#prepare(info, on, { info, commit: on.local, n, history, ...(bold ? { bold } : {}) }, undefined, { signal })
    }
    lookahead.start(on, prepare, async (made) => { await this.#giveBack(info, on.base, made) }, options)
  }

  /** The agent is asked on `base`: nothing to propose was said of one best, so on a new one the count starts again. */
  #askingOn (base: string): void {
    if (this.#emptyOn !== base) Object.assign(this.#agentTrouble, { empty: 0 })
    this.#emptyOn = base
  }

  /** Gives back the claim of an experiment made ahead and dropped; bounded, as the loop's end is, and never throws. */
  async #giveBack (info: InfoReply, best: string, made: Prepared): Promise<void> {
    await unclaim(this.#components, { causeId: info.causeId, best, proposal: made.proposal }, { signal: AbortSignal.timeout(REPORT_FLUSH_MS) }).catch((err: unknown) => { log('the claim of a dropped experiment was not given back: %e', err) })
  }

  /** Says once that claims fail (the edit then runs unclaimed), and again only after a claim was answered. */
  #claimAnswered (v: Vetting): void {
    if (v.run && v.unclaimed !== undefined) {
      if (this.#claimFailures.failed()) this.emit('event', { type: 'claim-failed', ...v.unclaimed })
    } else if (v.run || v.by === 'claimed') {
      this.#claimFailures.succeeded()
    }
  }

  /** Claims the oldest open hypothesis nobody holds, for the agent to test (none when there is none, or the claim is refused). */
  async #takeHypothesis (info: InfoReply, best: string, history: KnownHistory | undefined, options: { signal?: AbortSignal }): Promise<{ id: number, text: string } | undefined> {
    for (const h of (history?.hypotheses ?? []).filter((x) => !x.claimed).slice(0, 3)) {
      this.#history.taken(h.id)
      try {
        const reply = await this.#components.client.claim(this.#components.identity, info.causeId, { best, hypothesis: h.id, description: h.text.slice(0, 300) }, options)
        if (!reply.granted) continue
        this.emit('event', { type: 'hypothesis', id: h.id, text: h.text })
        return { id: h.id, text: h.text }
      } catch (err) {
        if (options.signal?.aborted === true) throw err
        log('hypothesis #%d not claimed: %e', h.id, err)
        return undefined
      }
    }
    return undefined
  }

  /** Whether the agent is asked for bolder changes (operations/plateau.ts); says so as each bold stretch starts. */
  #plateau (info: InfoReply): boolean {
    const plateau = info.manifest.collaboration.plateau
    if (boldStarts(this.#sinceKeep, plateau)) this.emit('event', { type: 'plateau', experiments: this.#sinceKeep, bold: plateau })
    return boldNow(this.#sinceKeep, plateau)
  }

  /** Queues an experiment's report and sends what is queued, without waiting for it. */
  #report (info: InfoReply, of: ReportOf): void {
    if (!this.#share) return
    const report = experimentReport(of)
    const leaks = leaksInReport(report, this.#components.secrets)
    if (leaks.length > 0) {
      this.emit('event', { type: 'report-failed', error: 'SecretLeakError', message: `experiment ${of.commit.slice(0, 10)} contains ${leaks.map((l) => `${l.label} in ${l.path}`).join(', ')}; its report is not sent`, dropped: 1 })
      return
    }
    this.#reporter.add(info.causeId, report)
    void this.#reporter.flush()
  }

  /** Sends the experiment reports still queued (run() does at its end); never throws. */
  async flushReports (options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#reporter.flush(options)
    // A flush already under way when this was called may have left reports queued after it.
    await this.#reporter.flush(options)
    this.#save()
  }

  async #maybeSubmit (info: InfoReply, at: Position, options: { signal?: AbortSignal }): Promise<void> {
    const { base, local } = at
    const { tree } = await commitTree(this.#components.gitdir, local.commit)
    const worth = (): boolean => worthSubmitting(info.manifest, at, this.#tried, this.#submittedTrees.has(tree))
    // Without a σ the test is only weaker: a due σ is measured where the answer hangs on it (a
    // chain carried onto this best is first judged against it here).
    if (!worth()) return
    await this.#noiseFor(info, at, this.#experiments, options)(base.metric, local.metric)
    if (!worth()) return
    this.#tried.add(local.commit)
    let confirmed: Confirmation
    try {
      // What was kept since the last submission goes out alone on the best, without the candidate built on (operations/delta.ts).
      if (await this.#submitDelta(info, at, options)) return
      // A chain that holds another worker's pending candidate goes out only on top of that one (below): with none to go on, nothing to confirm.
      if (at.adopted !== undefined && at.submittedCandidate === undefined) return
      confirmed = this.#beyondDoubt(info.manifest, at) ?? await confirm(this.#components, { manifest: info.manifest, base, local, seed: at.seeds.confirm, n: this.#experiments }, options)
    } catch (err) {
      // Stopped before a verdict (operations/confirm.ts): the same command confirms it again.
      if (options.signal?.aborted === true) this.#tried.delete(local.commit)
      throw err
    }
    if (!confirmed.passed) {
      await this.#unconfirmed(info, at, confirmed.metric)
      return
    }
    // A find that does not apply without our pending candidate goes on top of it (operations/delta.ts); else the whole chain goes on the base.
    const onto = at.submittedCandidate
    const stacked = onto === undefined || at.submittedLocal === undefined ? undefined : await deltaSince(this.#components, { base: base.commit, local: local.commit, kept: at.keptSinceBase, since: at.submittedLocal, onto })
    const on = stacked !== undefined && !this.#submittedTrees.has(stacked.tree) ? { ...stacked, parent: onto } : undefined
    if (on === undefined && at.adopted !== undefined) return
    const { commit, description } = on ?? await squash(this.#components, local.commit, base.commit, at.keptSinceBase)
    // With the local best's files: if it merges as it is, its runs here are the new best's.
    if (on === undefined || on.tree === tree) this.#runs.sameTree(commit, local.commit)
    await this.#submit(info, at, { local, confirmed, candidate: commit, description, ...(on === undefined ? {} : { parent: on.parent }) }, options)
  }

  /**
   * The σ to judge a gain on this best by (operations/noise.ts): measured first, and kept in the
   * position, when it is due and the gain needs it.
   */
  #noiseFor (info: InfoReply, at: Position, n: number, options: { signal?: AbortSignal }): NoiseFor {
    return async (from, to) => {
      if (noiseNeeded(info.manifest, at, from, to)) {
        Object.assign(at, await measureNoise(this.#components, { manifest: info.manifest, base: at.base, n }, options))
        this.#save()
      }
      return at.noise
    }
  }

  /**
   * The local best needs no confirmation run when its gain here is beyond doubt
   * (operations/submission.ts `beyondDoubtHere`): the experiment's own run is its claim. After a
   * restart that run is no longer at hand, and it is confirmed as before. A later find sent alone
   * (`#submitDelta`) never ran alone here, so it is always confirmed.
   */
  #beyondDoubt (manifest: Manifest, at: Position): Confirmation | undefined {
    const { base, local, seeds } = at
    if (!beyondDoubtHere(manifest, base.metric, local.metric, at.noise)) return undefined
    const run = this.#runs.ran(local.commit, seeds.experiment)
    if (run === undefined || !run.ok || run.metric !== local.metric) return undefined
    this.emit('event', { type: 'beyond-doubt', commit: local.commit, baseline: base.metric, candidate: local.metric })
    return { passed: true, metric: local.metric, logDigest: run.logDigest }
  }

  /**
   * Sends a confirmed candidate on the base (or on our pending candidate, `parent`), which the
   * local best at `at` is now counted as submitted by (its claim the next must beat, and what a
   * later find that needs it goes on top of).
   */
  async #submit (info: InfoReply, at: Position, sent: { local: Position['local'], confirmed: { metric: number, logDigest: string }, candidate: string, description: string, parent?: string }, options: { signal?: AbortSignal }): Promise<void> {
    this.#phase('submitting')
    at.lastClaim = at.local.metric
    at.submittedLocal = at.local.commit
    // Only a candidate the coordinator holds (one on a candidate it never received would be refused): none while it is sent.
    at.submittedCandidate = undefined
    at.submittedCandidate = (await this.#send({ fields: submissionFields(this.#components, info, { base: at.base, ...sent }), attempts: 0 }, options, sent.parent))?.candidate
  }

  /**
   * After a submission on this base, what was kept since goes out on its own (operations/delta.ts),
   * confirmed as it is sent: it must beat the base by the margin on the confirmation seed, and
   * that run is its claim. Returns false when there is no such delta or it did not confirm: the
   * whole chain is then confirmed and sent on top of that submission, or on the base, as the
   * first submission on a base is (`#maybeSubmit`).
   */
  async #submitDelta (info: InfoReply, at: Position, options: { signal?: AbortSignal }): Promise<boolean> {
    const { base, local, submittedLocal } = at
    if (submittedLocal === undefined) return false
    const delta = await deltaSince(this.#components, { base: base.commit, local: local.commit, kept: at.keptSinceBase, since: submittedLocal })
    if (delta === undefined || this.#submittedTrees.has(delta.tree)) return false
    const confirmed = await confirm(this.#components, { manifest: info.manifest, base, local: { commit: delta.commit, metric: local.metric }, seed: at.seeds.confirm, n: this.#experiments }, options)
    if (!confirmed.passed) return false
    this.#deltaFrom.set(delta.tree, local.commit)
    if (this.#deltaFrom.size > REMEMBERED) this.#deltaFrom.delete(this.#deltaFrom.keys().next().value as string)
    // Its claim is its own confirming run: the local best's metric is the whole chain's.
    await this.#submit(info, at, { local: { commit: delta.commit, metric: confirmed.metric }, confirmed, candidate: delta.commit, description: delta.description }, options)
    return true
  }

  /**
   * A local chain whose gain the second seed did not confirm: reported to the network as one
   * experiment (its whole change on the best), and the loop goes back to the best, since what
   * it kept was most likely noise.
   */
  async #unconfirmed (info: InfoReply, at: Position, metric: number | null): Promise<void> {
    const { gitdir } = this.#components
    const [before, after] = await Promise.all([editableFiles(gitdir, info.manifest, at.base.commit), editableFiles(gitdir, info.manifest, at.local.commit)])
    const change = experimentDiff(before, after)
    this.#history.ran(at.base.commit, change.diffHash)
    this.#report(info, { best: at.base.commit, commit: at.local.commit, status: 'unconfirmed', metric, noise: at.noise, seed: at.seeds.confirm, description: at.keptSinceBase.join('; '), change, nearKey: nearKey(before, after) })
    backToBase(at)
  }

  /**
   * Sends one submission (`on`: our pending candidate it goes on top of, for the event); returns its receipt, or undefined when it was not received. One the
   * network did not answer stays in state.json and is sent again on the next step, even after a
   * restart; if the coordinator had kept it, it answers the repeat with the receipt that was lost.
   */
  async #send (unsent: UnsentSubmission, options: { signal?: AbortSignal }, on?: string): Promise<ReceiptBody | undefined> {
    const { fields } = unsent
    this.#unsent.set(fields.candidate, unsent)
    this.#save()
    const outcome = await send(this.#components, unsent, options)
    if (outcome.sent) {
      this.#unsent.delete(fields.candidate)
      this.#submittedTrees.add(outcome.receipt.tree)
      this.submissions++
      this.#pending.add(outcome.receipt.candidateSeq)
      this.#pendingTrees.set(outcome.receipt.candidateSeq, outcome.receipt.tree)
      this.emit('event', { type: 'submitted', receipt: outcome.receipt, claimedMetric: fields.claimedMetric, ...(on === undefined ? {} : { on }) })
    } else {
      // Work that carries a secret is not built on: the loop goes on from the network best.
      if (outcome.leaked && this.#at !== undefined) backToBase(this.#at, { dropClaim: true })
      if (!outcome.willRetry) this.#unsent.delete(fields.candidate)
      this.emit('event', { type: 'submit-failed', ...describeError(outcome.error), willRetry: outcome.willRetry })
    }
    this.#save()
    return outcome.sent ? outcome.receipt : undefined
  }

  /** One verification job for the network, when it has one for a worker (`alsoVerify`); a failure never stops the research. */
  async #help (signal?: AbortSignal): Promise<void> {
    if (this.#helper === undefined) return
    try {
      await this.#helper.runOnce(signal)
    } catch (err) {
      if (signal?.aborted === true) throw err
      // Not on this coordinator's verifier allowlist (or banned), or not of the hardware class it verifies on: asking again would be refused again.
      const stopped = err instanceof Error && (err.name === 'NotAuthorizedError' || err.name === 'HardwareClassError')
      if (stopped) this.#helper = undefined
      this.emit('event', { type: 'help-failed', ...describeError(err), stopped })
    }
  }

  /**
   * Waits before asking an agent in trouble again (operations/agent-backoff.ts): a dead endpoint
   * must not make the loop spin. An agent that had nothing to propose is asked again at once when
   * a best other than the one it was asked on is announced (`since`: announcements the step may have missed).
   */
  async #pauseForAgent (since: number, signal?: AbortSignal): Promise<void> {
    const retryInMs = agentPause(this.#agentTrouble, this.#backoff)
    if (retryInMs === 0 || signal?.aborted === true) return
    const on = newBestEndsPause(this.#agentTrouble) ? this.#emptyOn : undefined
    this.emit('event', { type: 'agent-backoff', ...this.#agentTrouble, retryInMs, untilNewBest: on !== undefined })
    // An abort ends the pause early; the loop's condition then stops it.
    if (on === undefined) {
      await delay(retryInMs, undefined, signal === undefined ? {} : { signal }).catch((err) => { log('pause for the agent ended early: %e', err) })
      return
    }
    await this.#announced.changed(on, { since, withinMs: retryInMs, signal })
  }

  /**
   * Runs experiments until `signal` aborts or `maxExperiments` have run. Nothing in it
   * sleeps on a fixed timer: with nothing to do on the best it has (it does not run here), it waits for the
   * announcement of another, with a bounded backoff as the fallback (`WorkerOptions.backoff`);
   * an agent in trouble is asked again after the same backoff (`#pauseForAgent`), one that
   * had nothing to propose also at once on a new best.
   */
  async run (opts: { signal?: AbortSignal, maxExperiments?: number } = {}): Promise<void> {
    const { signal, maxExperiments } = opts
    // A function, not a narrowed property: the step in between may abort the signal.
    const stopped = (): boolean => signal?.aborted === true
    let backoffMs = this.#backoff.minMs
    try {
      while (!stopped() && (maxExperiments === undefined || this.#experiments < maxExperiments)) {
        const since = this.#announced.heard
        let stuck: { commit: string, reason: string } | undefined
        try {
          await this.#help(signal)
          // A few empty proposals are no reason to wait: an agent that draws at random (search)
          // proposes nothing by chance, and its next draw may differ (the pause below waits from the third).
          await this.step({ signal, ahead: maxExperiments === undefined || this.#experiments + 1 < maxExperiments })
        } catch (err) {
          if (stopped() || !(err instanceof BestUnrunnableError)) throw err
          stuck = { commit: err.commit, reason: err.message }
        }
        if (stuck === undefined) {
          backoffMs = this.#backoff.minMs
          await this.#pauseForAgent(since, signal)
          continue
        }
        this.emit('event', { type: 'waiting', ...stuck, retryInMs: backoffMs })
        await this.#announced.changed(stuck.commit, { since, withinMs: backoffMs, signal })
        backoffMs = Math.min(backoffMs * 2, this.#backoff.maxMs)
      }
    } finally {
      await this.#lookahead?.cancel()
      // Bounded: a coordinator that is gone must not hold the end of the loop.
      await this.flushReports({ signal: AbortSignal.timeout(REPORT_FLUSH_MS) })
    }
  }
}
