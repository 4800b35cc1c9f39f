/**
 * Kill -9 fault injection: a coordinator in its own process takes submissions,
 * leases and attestations from real libp2p peers and is killed with SIGKILL at a
 * random moment inside intake, verification, a merge, a merge group's merge or a batch's forming or
 * merge; it is restarted on the
 * same home and checked. Shared by `npm run bench -- faults` and tests/faults/.
 */
import type { ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import git from 'isomorphic-git'
import {
  commitWithChanges, CoordinatorClient, createNode, ensureBareRepo, gitFs, Identity, packForSubmission, readFileAt, sha256Hex,
  type AutoresearchNode, type Job, type ReceiptBody, type Trial
} from '@autoresearch/protocol'
import { BEST_REF, homePaths, initHome, membersOf } from 'autoresearch-coordinator'
import { prng } from 'autoresearch-worker'
import { ROOT, startBin } from '../../tests/processes.ts'
import { checkAfterRestart, readStore, unfinishedWork, type Acknowledged } from './crash-checks.ts'

const TOY = join(ROOT, 'examples', 'toy-regression')
const HARDWARE = { class: 'simulated verifier', cpus: 1, gpus: [] }

export type CrashPhase = 'intake' | 'verification' | 'merge' | 'group' | 'speculation' | 'batch'
type RequestKind = 'submit' | 'lease' | 'attest'
export const PHASES: CrashPhase[] = ['intake', 'verification', 'merge', 'group']

export interface CrashOptions {
  iterations: number
  seed?: number
  /**
   * The phases to cycle through (default PHASES). `speculation` needs `speculative`: the cause
   * then declares `verification.speculation`, and the kill lands in the merge of a candidate
   * that another passed on top of (that one's merge follows it in the same request).
   */
  phases?: CrashPhase[]
  speculative?: boolean
  /**
   * The cause declares `verification.batch` (size 4); phase `batch` then has two keys with a
   * verified merge each submit a winner, which the next lease combines into a batch, and the
   * kill lands in that lease or in the batch's attestation (its merge).
   */
  batched?: boolean
  log?: (line: string) => void
}

export interface IterationResult {
  phase: CrashPhase
  delayMs: number
  /** Whether the targeted request was answered before the kill landed. */
  answered: boolean
  restartMs: number
  /** Leases the crash orphaned that expired and were handed out again. */
  reissued: number
  /** Submissions the coordinator had kept when it died but never answered: the repeat got the original receipt. */
  keptUnanswered: number
  /** The kill fell between a merge's database commit and its ref write: start-up re-pointed the ref. */
  refRepaired: boolean
  violations: string[]
}

interface Served { child: ChildProcess, address: string }

/** A copy of the toy cause whose `verification` declares `fields` (speculation, batches), under `scratch`. */
function causeCopy (scratch: string, fields: Record<string, unknown>): string {
  const dir = join(scratch, 'declared-cause')
  fs.cpSync(TOY, dir, { recursive: true })
  const path = join(dir, 'autoresearch.json')
  const manifest = JSON.parse(fs.readFileSync(path, 'utf8')) as { verification: Record<string, unknown> }
  Object.assign(manifest.verification, fields)
  fs.writeFileSync(path, JSON.stringify(manifest, null, 2))
  return dir
}

/** `autoresearch-coordinator serve` on `home`; resolves once it prints its ready event. */
async function serve (home: string): Promise<Served> {
  const proc = startBin('coordinator/bin/autoresearch-coordinator.js', ['serve', '--home', home, '--listen', '/ip4/127.0.0.1/tcp/0', '--http-port', '0', '--json'])
  try {
    const ready = await proc.waitForJson<{ multiaddrs: string[] }>((e) => e.event === 'ready', 60_000)
    return { child: proc.child, address: ready.multiaddrs[0] as string }
  } catch (err) {
    proc.child.kill('SIGKILL')
    throw err
  }
}

async function kill (served: Served): Promise<void> {
  if (served.child.exitCode !== null || served.child.signalCode !== null) return
  const exited = new Promise((r) => served.child.once('exit', r))
  served.child.kill('SIGKILL')
  await exited
}


const sleep = async (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export class CrashHarness {
  readonly home: string
  readonly #scratch: string
  readonly #random: () => number
  readonly #acked: Acknowledged = { receipts: [], attestedJobs: [], mergedCandidates: [] }
  /** Candidate commits the workload made to win; every other candidate is attested as no gain. */
  readonly #good = new Set<string>()
  #served?: Served
  #node?: AutoresearchNode
  #verifier!: Identity
  #causeId = ''
  #previousBest?: string
  #expiredSoFar = 0
  #speculative = false
  /** Phase `batch`: two keys that earn a verified merge each first, so that their candidates batch. */
  readonly #batchAuthors = [Identity.generate(), Identity.generate()]
  #batchAuthorsTrusted = false
  /** How long each kind of request took when nothing was killed, to aim kills inside one. */
  readonly #durations: Record<RequestKind, number[]> = { submit: [], lease: [], attest: [] }

  #typical (kind: RequestKind): number {
    const sorted = this.#durations[kind].slice(-50).sort((a, b) => a - b)
    return sorted.length === 0 ? 50 : sorted[sorted.length >> 1] as number
  }

  private constructor (scratch: string, seed: number) {
    this.#scratch = scratch
    this.home = join(scratch, 'home')
    this.#random = prng(seed)
  }

  static async start (seed = 1, opts: { speculative?: boolean, batched?: boolean } = {}): Promise<CrashHarness> {
    const harness = new CrashHarness(mkdtempSync(join(tmpdir(), 'ar-crash-')), seed)
    harness.#speculative = opts.speculative === true
    const fields = { ...(harness.#speculative ? { speculation: { window: 2 } } : {}), ...(opts.batched === true ? { batch: { size: 4 } } : {}) }
    const { paths, causeId } = await initHome(harness.home, Object.keys(fields).length > 0 ? causeCopy(harness.#scratch, fields) : TOY)
    harness.#causeId = causeId
    // Short leases, so a job orphaned by a crash is handed out again within a second.
    const config = JSON.parse(fs.readFileSync(paths.config, 'utf8')) as Record<string, unknown>
    fs.writeFileSync(paths.config, JSON.stringify({ ...config, leaseSeconds: 1 }))
    harness.#verifier = Identity.load(paths.verifierIdentity)
    harness.#node = await createNode({ identity: harness.#verifier })
    harness.#served = await serve(harness.home)
    return harness
  }

  get #client (): CoordinatorClient {
    return new CoordinatorClient(this.#node as AutoresearchNode, (this.#served as Served).address)
  }

  async #clientFor (identity: Identity): Promise<{ client: CoordinatorClient, node: AutoresearchNode }> {
    const node = await createNode({ identity })
    return { client: new CoordinatorClient(node, (this.#served as Served).address), node }
  }

  /**
   * One iteration: workload, SIGKILL inside `phase`, restart, checks, drain. The kill
   * lands `fraction` × the typical duration of the targeted request after it is sent
   * (fractions up to 1.5 spread kills over the whole request and just after it).
   */
  async iterate (phase: CrashPhase, fraction: number): Promise<IterationResult> {
    const submitter = Identity.generate()
    const { client, node } = await this.#clientFor(submitter)
    const gitdir = join(this.#scratch, `submitter-${submitter.publicKey.slice(0, 8)}.git`)
    const served = this.#served as Served
    let killed: Promise<void> | undefined
    let answered = false
    let delayMs = 0
    const armed = async <T>(kind: RequestKind, target: boolean, send: () => Promise<T>): Promise<T> => {
      if (!target || killed !== undefined) {
        const started = performance.now()
        const reply = await send()
        if (killed === undefined) this.#durations[kind].push(performance.now() - started)
        return reply
      }
      delayMs = Math.round(fraction * this.#typical(kind))
      killed = sleep(delayMs).then(async () => kill(served))
      const reply = await send()
      answered = true
      return reply
    }
    const unanswered: Array<{ commit: string, parent: string, claimed: number, by?: Identity }> = []
    try {
      if (phase === 'batch' && !this.#batchAuthorsTrusted) await this.#earnTrust(client, gitdir)
      const info = await client.info()
      await ensureBareRepo(gitdir)
      await client.sync(gitdir, info.best.commit, [])
      const text = await readFileAt(gitdir, info.best.commit, 'train.py') as string
      const tag = `${Date.now()}-${Math.floor(this.#random() * 1e9)}`
      const good = await commitWithChanges(gitdir, info.best.commit, { 'train.py': `${text}\n# good ${tag}\n` }, 'good')
      const bad = await commitWithChanges(gitdir, info.best.commit, { 'train.py': `${text}\n# bad ${tag}\n` }, 'bad')
      const submissions: Array<{ commit: string, parent: string, claimed: number, by?: Identity }> = [{ commit: good, parent: info.best.commit, claimed: 0.06 }, { commit: bad, parent: info.best.commit, claimed: 0.079 }]
      if (phase === 'group') {
        // Two more winners, at the top and in the middle of the file: they pass against the best
        // the first one replaces, and go on together as a merge group.
        const lines = text.split('\n')
        const middle = [...lines.slice(0, lines.length >> 1), `# middle ${tag}`, ...lines.slice(lines.length >> 1)].join('\n')
        for (const [name, changed] of [['top', `# top ${tag}\n${text}`], ['middle', middle]]) {
          const commit = await commitWithChanges(gitdir, info.best.commit, { 'train.py': changed as string }, name as string)
          this.#good.add(commit)
          submissions.splice(1, 0, { commit, parent: info.best.commit, claimed: 0.07 })
        }
      } else if (phase === 'batch') {
        // A winner from each trusted key, at the top and in the middle: never verified, they are combined into one batch.
        const lines = text.split('\n')
        const middle = [...lines.slice(0, lines.length >> 1), `# batch middle ${tag}`, ...lines.slice(lines.length >> 1)].join('\n')
        for (const [i, changed] of [`# batch top ${tag}\n${text}`, middle].entries()) {
          const commit = await commitWithChanges(gitdir, info.best.commit, { 'train.py': changed }, `batch ${i}`)
          this.#good.add(commit)
          submissions.splice(1, 0, { commit, parent: info.best.commit, claimed: 0.07, by: this.#batchAuthors[i] as Identity })
        }
      } else if (phase === 'speculation') {
        // A second winner at the top of the file: carried onto the first while that is verified.
        const top = await commitWithChanges(gitdir, info.best.commit, { 'train.py': `# top ${tag}\n${text}` }, 'top')
        this.#good.add(top)
        submissions.splice(1, 0, { commit: top, parent: info.best.commit, claimed: 0.07 })
      } else if (this.#previousBest !== undefined) {
        // On the previous best, with a change at the top of the file: it is rebased when leased.
        await client.sync(gitdir, this.#previousBest, [info.best.commit])
        const old = await readFileAt(gitdir, this.#previousBest, 'train.py') as string
        submissions.push({ commit: await commitWithChanges(gitdir, this.#previousBest, { 'train.py': `# stale ${tag}\n${old}` }, 'stale'), parent: this.#previousBest, claimed: 0.079 })
      }
      this.#previousBest = info.best.commit
      this.#good.add(good)
      unanswered.push(...submissions)
      const targetIndex = Math.floor(this.#random() * submissions.length)
      for (const [i, s] of submissions.entries()) {
        const reply = await armed('submit', phase === 'intake' && i === targetIndex, async () => this.#submit(client, s.by ?? submitter, gitdir, s))
        this.#acked.receipts.push(reply)
        unanswered.splice(unanswered.indexOf(s), 1)
      }
      // Verify everything leased: the kill lands on a lease (with its rebases), a rejecting attestation, the merge
      // or the group's merge (the three winners are leased at once, so two pass against a best that has moved).
      const target = (job: Job): boolean => phase === 'group' || phase === 'batch' ? this.#isGroup(job) : phase === 'merge' ? this.#good.has(job.candidate) : phase === 'verification' && !this.#good.has(job.candidate)
      if (phase === 'group') {
        const jobs: Job[] = []
        for (let i = 0; i < 3; i++) jobs.push((await this.#client.lease(this.#verifier, this.#causeId, HARDWARE)).job as Job)
        for (const job of jobs) await this.#attest(job)
      }
      if (phase === 'speculation') {
        // The first winner on the best, then the second carried onto it; the second passes first
        // and waits, and the kill lands in the first one's attestation: its merge, then the second's.
        const head = (await this.#client.lease(this.#verifier, this.#causeId, HARDWARE)).job as Job
        const ahead = (await this.#client.lease(this.#verifier, this.#causeId, HARDWARE)).job as Job
        if (ahead.baseline !== head.candidate) throw new Error(`the second job is not on top of the first (${ahead.baseline} against ${head.candidate})`)
        await this.#attest(ahead)
        await armed('attest', true, async () => this.#attest(head))
      }
      for (let step = 0; step < 10; step++) {
        // In `batch`, a lease may be the one that forms the batch.
        const job = (await armed('lease', (phase === 'verification' || phase === 'batch') && this.#random() < 0.5, async () => this.#client.lease(this.#verifier, this.#causeId, HARDWARE))).job
        if (job === null) break
        await armed('attest', target(job), async () => this.#attest(job))
      }
    } catch {
      // The coordinator died under the workload: what follows checks what it had answered.
    }
    if (killed === undefined) killed = sleep(delayMs).then(async () => kill(served))
    await killed
    const refBefore = await git.resolveRef({ fs: gitFs, gitdir: homePaths(this.home).gitdir, ref: BEST_REF }).catch(() => 'unreadable')

    const restartedAt = Date.now()
    const started = performance.now()
    this.#served = await serve(this.home)
    const restartMs = performance.now() - started
    const again = new CoordinatorClient(node, this.#served.address)
    // A submission whose answer the crash swallowed is sent again: kept or not, it must get a receipt now.
    let keptUnanswered = 0
    for (const s of unanswered) {
      const receipt = await this.#submit(again, s.by ?? submitter, gitdir, s)
      if (receipt.receivedAt < restartedAt) keptUnanswered++
      this.#acked.receipts.push(receipt)
    }
    await node.stop()
    const { violations, refRepaired } = await this.check(refBefore, restartedAt)
    const reissued = await this.drain()
    violations.push(...unfinishedWork(this.home))
    return { phase, delayMs, answered, restartMs, reissued, keptUnanswered, refRepaired, violations }
  }

  async #submit (client: CoordinatorClient, identity: Identity, gitdir: string, s: { commit: string, parent: string, claimed: number }): Promise<ReceiptBody> {
    const pack = await packForSubmission(gitdir, s.commit, s.parent)
    const { receipt } = await client.submit(identity, { causeId: this.#causeId, parent: s.parent, candidate: s.commit, claimedMetric: s.claimed, logDigest: sha256Hex(''), description: 'crash workload' }, pack)
    return receipt
  }

  /**
   * Before the first `batch` iteration: each batch author's first winner is verified alone and
   * merged (a key without a verified merge never goes in a batch), with no kill armed.
   */
  async #earnTrust (client: CoordinatorClient, gitdir: string): Promise<void> {
    for (const [i, author] of this.#batchAuthors.entries()) {
      const info = await client.info()
      await ensureBareRepo(gitdir)
      await client.sync(gitdir, info.best.commit, [])
      const text = await readFileAt(gitdir, info.best.commit, 'train.py') as string
      const commit = await commitWithChanges(gitdir, info.best.commit, { 'train.py': `${text}\n# trust ${i} ${Date.now()}\n` }, 'trust')
      this.#good.add(commit)
      this.#acked.receipts.push(await this.#submit(client, author, gitdir, { commit, parent: info.best.commit, claimed: 0.06 }))
      for (let step = 0; step < 10; step++) {
        const job = (await this.#client.lease(this.#verifier, this.#causeId, HARDWARE)).job
        if (job === null) break
        await this.#attest(job)
      }
    }
    this.#batchAuthorsTrusted = true
  }

  /**
   * Whether a job is on a merge group or batch (the coordinator makes them of winners), or on
   * its copy carried onto a best that moved before it was verified.
   */
  #isGroup (job: Job): boolean {
    const db = readStore(this.home)
    try {
      const c = db.candidate(job.candidateSeq)
      return c !== undefined && membersOf(db, c).length > 0
    } finally {
      db.close()
    }
  }

  /** With speculation, a coordinator's copy of a good candidate (carried onto another) is good too. */
  #copyOfGood (job: Job): boolean {
    if (!this.#speculative) return false
    const db = readStore(this.home)
    try {
      const origin = db.candidate(job.candidateSeq)?.origin_seq
      return origin !== null && origin !== undefined && this.#good.has(db.candidate(origin)?.commit_oid ?? '')
    } finally {
      db.close()
    }
  }

  /** Fabricated trials: a clear gain for the workload's good candidates and merge groups, none for the rest. */
  async #attest (job: Job): Promise<{ verdict: { state: string } }> {
    const gain = this.#good.has(job.candidate) || this.#isGroup(job) || this.#copyOfGood(job) ? 0.02 : 0
    const trials: Trial[] = job.seeds.map((seed, i) => {
      const baseline = 0.08 + 0.003 * Math.sin(seed + i)
      return { seed, baseline, candidate: baseline - gain + 0.0005 * Math.cos(seed * 7 + i), baselineLogDigest: sha256Hex('b'), candidateLogDigest: sha256Hex('c') }
    })
    const reply = await this.#client.attest(this.#verifier, { causeId: this.#causeId, jobId: job.jobId, candidate: job.candidate, baseline: job.baseline, trials, hardware: HARDWARE })
    this.#acked.attestedJobs.push(job.jobId)
    if (reply.verdict.state === 'accepted') this.#acked.mergedCandidates.push(reply.verdict.candidateSeq)
    return reply
  }

  /** Receipts, attestations and merges that were answered are all there; refs and database agree. */
  async check (refBefore: string, restartedAt: number): Promise<{ violations: string[], refRepaired: boolean }> {
    return await checkAfterRestart(this.home, this.#acked, refBefore, restartedAt)
  }

  /**
   * Plays the host's verifier until every candidate is decided. Leases the crash
   * orphaned expire (1 s here) and are handed out again; returns how many were.
   */
  async drain (): Promise<number> {
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline) {
      const { job } = await this.#client.lease(this.#verifier, this.#causeId, HARDWARE)
      if (job !== null) {
        await this.#attest(job).catch(() => {})
        continue
      }
      const db = readStore(this.home)
      const counts = db.countsByState()
      const open = (counts.queued ?? 0) + (counts.verifying ?? 0) + (counts.passed ?? 0)
      db.close()
      if (open === 0) break
      await sleep(250)
    }
    const db = readStore(this.home)
    const expired = db.dump('jobs').filter((j) => j.state === 'expired').length
    db.close()
    const reissued = expired - this.#expiredSoFar
    this.#expiredSoFar = expired
    return reissued
  }

  /** Deletes the home and the submitters' repositories (after `stop`). */
  remove (): void {
    fs.rmSync(this.#scratch, { recursive: true, force: true })
  }

  async stop (): Promise<void> {
    await this.#node?.stop()
    if (this.#served !== undefined) {
      const exited = new Promise((r) => this.#served?.child.once('exit', r))
      this.#served.child.kill('SIGTERM')
      await exited
    }
  }
}

/** Runs `iterations` kills, cycling through the phases, with random delays. */
export async function crashLoop (opts: CrashOptions): Promise<{ results: IterationResult[], merges: number, candidates: Record<string, number>, groups: { formed: number, merged: number } }> {
  const harness = await CrashHarness.start(opts.seed ?? 1, { speculative: opts.speculative, batched: opts.batched })
  const random = prng((opts.seed ?? 1) + 1)
  const results: IterationResult[] = []
  const phases = opts.phases ?? PHASES
  try {
    for (let i = 0; i < opts.iterations; i++) {
      const phase = phases[i % phases.length] as CrashPhase
      const result = await harness.iterate(phase, random() * 1.5)
      results.push(result)
      opts.log?.(`kill ${i + 1}/${opts.iterations}: ${phase} +${result.delayMs} ms, ${result.answered ? 'answered' : 'unanswered'}, restart ${Math.round(result.restartMs)} ms, ${result.reissued} re-issued, ${result.keptUnanswered} kept unanswered,${result.refRepaired ? ' ref repaired,' : ''} ${result.violations.length} violation(s)${result.violations.length > 0 ? `: ${result.violations.join('; ')}` : ''}`)
    }
  } finally {
    await harness.stop()
  }
  const db = readStore(harness.home)
  const merges = db.merges().filter((m) => m.kind === 'merge').length
  const candidates = db.countsByState()
  const all = db.candidates()
  const formed = all.filter((c) => db.groupMembers(c.seq).length > 0)
  // A group carried onto a moved best merges as its copy: it counts as the group's merge.
  const merged = all.filter((c) => c.state === 'merged' && membersOf(db, c).length > 0)
  db.close()
  harness.remove()
  return { results, merges, candidates, groups: { formed: formed.length, merged: merged.length } }
}
