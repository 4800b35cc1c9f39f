/**
 * Submissions with no real gain, for the verification benchmark's "mostly losers" mix
 * (issue 14): in real autoresearch about 80 % of submitted candidates do not hold up. Each
 * loser nudges one constant of the sim-cost train.py by about 0.1 %, so its true gain is
 * about zero, but evaluate.py draws its noise from the seed and the values, so the
 * candidate's noise is drawn afresh: on a lucky seed it looks like a gain, as real losers do.
 *
 * Each loser claims a gain drawn like the honest claims around it, as an over-optimistic
 * worker's does (its own noisy measurement made a no-gain change look like a win): the
 * claimed gain of the honest submission that triggered its batch times a factor drawn
 * uniformly from [LOW, HIGH]. So losers compete with the winners for the verifier (the
 * queue leases the best claim first): about half of them claim more than the winner they
 * follow. A claim of the best's metric less a fixed small gain would sit behind every honest
 * claim and never be verified while winners keep coming.
 */
import { join } from 'node:path'
import { commitWithChanges, ensureBareRepo, Identity, packForSubmission, readFileAt, type InfoReply } from '@autoresearch/protocol'
import { runCommit, type SandboxBackend } from '@autoresearch/runner'
import type { CoordinatorEvent } from 'autoresearch-coordinator'
import { prng } from 'autoresearch-worker'
import { setConstant, type TestNetwork } from '../../tests/network.ts'

const CONSTANTS = ['LEARNING_RATE', 'WEIGHT_DECAY', 'WIDTH_SCALE']
/**
 * Receipts per identity before the source moves to a fresh one. The daily quota is 20 less
 * one per rejection and four per contradicted claim (coordinator/src/policy.ts): after k
 * receipts it is at least 20 − 5k, so a key stays clear of it for 4, and a refusal would
 * fail the race rather than thin the mix.
 */
const PER_IDENTITY = 4
/** The range of a loser's claimed gain, as a multiple of the honest claimed gain it follows. */
const LOW = 0.8
const HIGH = 1.5

export interface LoserOptions {
  net: TestNetwork
  /** Losers submitted after each honest submission. */
  perSubmission: number
  seed: number
  /** Where the losers' own runs are counted: the worker side's tally. */
  backend: SandboxBackend
  signal: AbortSignal
  /** A refused submission or a failed run: the mix would not be what the bench says, so the race ends with it. */
  onError: (err: Error) => void
  log: (line: string) => void
}

/** Submits `perSubmission` losers on the coordinator's current best whenever an honest worker submits. */
export class LoserSource {
  submitted = 0
  rejected = 0
  readonly #opts: LoserOptions
  readonly #random: () => number
  readonly #gitdir: string
  readonly #stateDir: string
  readonly #identities: Identity[] = []
  #receipts = 0
  /** The confirmation's seed, and the bests already run on it (a worker's cache keeps each). */
  readonly #confirmSeed: number
  readonly #confirmedBests = new Set<string>()
  #info?: InfoReply
  /** Confirmations under way (#confirm). */
  readonly #confirming = new Set<Promise<void>>()
  /** Batches run one after another: they share one repository. */
  #queue: Promise<void> = Promise.resolve()

  constructor (opts: LoserOptions) {
    this.#opts = opts
    this.#random = prng(opts.seed * 1000 + 999)
    // Its own stream, so that the losers' edits and claims are those of the tables before confirmations were run.
    this.#confirmSeed = Math.floor(prng(opts.seed * 1000 + 998)() * 2 ** 31)
    this.#stateDir = join(opts.net.scratch, 'losers')
    this.#gitdir = join(this.#stateDir, 'cause.git')
    opts.net.running.coordinator.on('event', (e) => { this.#observe(e) })
  }

  /** Called on each honest submission, with its claimed gain over the best it was built on, as its worker measured that best. */
  onSubmission (claimedGain: number): void {
    this.#queue = this.#queue.then(async () => { await this.#batch(claimedGain) }).catch((err: unknown) => {
      if (!this.#opts.signal.aborted) this.#opts.onError(err as Error)
    })
  }

  /** Resolves when the batches under way have ended (after the signal aborts, soon). */
  async settled (): Promise<void> {
    await this.#queue
    await Promise.all([...this.#confirming])
  }

  /** Whether a candidate is one of the losers (a coordinator rebase keeps the submitter, so rebased losers too). */
  owns (candidateSeq: number): boolean {
    const submitter = this.#opts.net.running.coordinator.store.candidate(candidateSeq)?.submitter
    return this.#identities.some((id) => id.publicKey === submitter)
  }

  #observe (e: CoordinatorEvent): void {
    if (e.type === 'verdict' && e.verdict.state === 'rejected' && this.owns(e.verdict.candidateSeq)) this.rejected++
  }

  async #batch (claimedGain: number): Promise<void> {
    const { net, signal } = this.#opts
    if (signal.aborted) return
    const best = net.best
    const bestMetric = net.running.coordinator.status().best.metric
    const client = await net.client(this.#identity())
    this.#info ??= await client.info({ signal })
    await ensureBareRepo(this.#gitdir)
    await client.sync(this.#gitdir, best, [], { signal })
    const text = await readFileAt(this.#gitdir, best, 'train.py') as string
    const losers: Array<{ commit: string, gain: number }> = []
    for (let i = 0; i < this.#opts.perSubmission; i++) {
      const [name, factor] = this.#nudge()
      const value = Number(new RegExp(`^${name} = (.*)$`, 'm').exec(text)?.[1])
      if (!Number.isFinite(value)) throw new Error(`train.py on ${best} has no numeric ${name}`)
      const commit = await commitWithChanges(this.#gitdir, best, { 'train.py': setConstant(name, value * factor)(text) }, `loser: ${name} x ${factor.toFixed(5)}`)
      losers.push({ commit, gain: claimedGain * (LOW + (HIGH - LOW) * this.#random()) })
    }
    await Promise.all(losers.map(async ({ commit, gain }) => { await this.#submit(this.#info as InfoReply, best, bestMetric, commit, gain) }))
  }

  /**
   * One constant and a factor of 1 ± 0.001·(0.5 to 1.5): the size varies so that two losers
   * on one best are never the same tree (intake refuses a duplicate tree).
   */
  #nudge (): [string, number] {
    const name = CONSTANTS[Math.floor(this.#random() * CONSTANTS.length)] as string
    const sign = this.#random() < 0.5 ? -1 : 1
    return [name, 1 + sign * 0.001 * (0.5 + this.#random())]
  }

  /** One sandbox run of `commit` on the losers' side (its seconds counted as the worker side's). */
  async #trial (info: InfoReply, best: string, commit: string, seed: number): Promise<Awaited<ReturnType<typeof runCommit>>> {
    const { backend, signal } = this.#opts
    return await runCommit({
      gitdir: this.#gitdir, commit, manifest: info.manifest, seed,
      dataRoot: join(this.#stateDir, 'data'), scratchRoot: join(this.#stateDir, 'scratch'), backend, signal,
      protectedFrom: { gitdir: this.#gitdir, commit: best }
    })
  }

  /**
   * The rest of what a worker runs before it submits, after its experiment: the confirmation
   * on a second seed (worker/src/operations/confirm.ts), the candidate again and the best (the
   * best's run once per best, as a worker's cache keeps it). A loser stands for one whose
   * confirmation was lucky too, so its result gates nothing. The losers stand for a population
   * of workers that confirmed on their own machines before the honest submission that sets
   * when they arrive; so these runs go beside the next losers instead of delaying them, and
   * the mix reaching the verifier stays what it was. Not run: the measurement of each new
   * best that each loser's key, as a worker, would also have made.
   */
  #confirm (info: InfoReply, best: string, commit: string): void {
    const runs = (async () => {
      await this.#trial(info, best, commit, this.#confirmSeed)
      if (this.#confirmedBests.has(best)) return
      this.#confirmedBests.add(best)
      await this.#trial(info, best, best, this.#confirmSeed)
    })().catch((err: unknown) => {
      if (!this.#opts.signal.aborted) this.#opts.onError(err as Error)
    }).finally(() => { this.#confirming.delete(runs) })
    this.#confirming.add(runs)
  }

  /** The key for the next submission, a fresh one every PER_IDENTITY receipts. */
  #identity (): Identity {
    if (this.#identities.length === 0 || this.#receipts >= PER_IDENTITY * this.#identities.length) this.#identities.push(Identity.generate())
    return this.#identities[this.#identities.length - 1] as Identity
  }

  async #submit (info: InfoReply, best: string, bestMetric: number | null, commit: string, gain: number): Promise<void> {
    const { net, signal } = this.#opts
    const run = await this.#trial(info, best, commit, Math.floor(this.#random() * 2 ** 31))
    if (signal.aborted) return
    if (!run.ok) throw new Error(`a loser's own run failed: ${run.reason}: ${run.message}`)
    const identity = this.#identity()
    // The drawn gain over the best (before the first merge the best has no verified metric,
    // so the loser's own run, of a change with no real gain, stands in). It sets the queue
    // order, and a claim far beyond what verification measures costs the key quota.
    const reference = bestMetric ?? run.metric
    const claimedMetric = info.manifest.metric.direction === 'minimize' ? reference - gain : reference + gain
    this.#receipts++
    const { receipt } = await (await net.client(identity)).submit(identity, {
      causeId: info.causeId, parent: best, candidate: commit, claimedMetric, logDigest: run.logDigest, description: 'loser: no real gain'
    }, await packForSubmission(this.#gitdir, commit, best), { signal })
    this.submitted++
    this.#confirm(info, best, commit)
    this.#opts.log(`  loser #${receipt.candidateSeq} claiming ${claimedMetric.toFixed(3)} (gain ${gain.toFixed(3)})`)
  }
}
