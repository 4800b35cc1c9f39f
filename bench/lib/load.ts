/**
 * The load suite's machinery, shared by `npm run bench -- load` and tests/load.test.ts:
 * a coordinator process, processes of simulated volunteers (bench/lib/load-peer.ts,
 * real libp2p peers), a submitter and a simulated verifier that merges fabricated
 * clear gains so that the coordinator announces. Every wait is bounded; every process
 * started here is stopped before it returns.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { join } from 'node:path'
import {
  commitWithChanges, CoordinatorClient, createNode, ensureBareRepo, Identity, packForSubmission, readFileAt, sha256Hex,
  type AutoresearchNode, type ReceiptBody
} from '@autoresearch/protocol'
import { homePaths, initHome } from 'autoresearch-coordinator'
import { ROOT, startBin, type Proc } from '../../tests/processes.ts'

export interface LoadOptions {
  scratch: string
  processes: number
  peersPerProcess: number
  merges: number
  /** Submissions in each of three intake runs: before the peers connect, with all of them, after they left. */
  submissions: number
  log?: (line: string) => void
}

export interface Delivery { peer: string, commit?: string, latencyMs?: number, verified: boolean }
export interface IntakeRun {
  accepted: number
  seconds: number
  /** CPU the coordinator process used meanwhile: its own cost, apart from the machine's other load. */
  coordinatorCpuMs: number
  receipts: Array<{ receipt: ReceiptBody, signature: string }>
}

export interface LoadResult {
  home: string
  /** Processes started (coordinator, then peer processes); all have exited when runLoad returns. */
  pids: number[]
  coordinatorKey: string
  peers: string[]
  /** The coordinator's key as each peer process saw it in `info`. */
  peerKeys: string[]
  /** Established TCP connections the coordinator process holds on its libp2p port, less the bench's own. */
  connectionsAtStart: number
  connectionsAtEnd: number
  peersDisconnected: string[]
  rssBeforeKiB: number
  rssAfterKiB: number
  /** The coordinator's CPU use with nothing to do, before the peers connected and with all of them. */
  idleCpuPercentBefore: number
  idleCpuPercentAfter: number
  merged: string[]
  deliveries: Delivery[]
  idleBefore: IntakeRun
  loaded: IntakeRun
  idleAfter: IntakeRun
  /** Candidate commits the coordinator's HTTP API lists at the end. */
  apiCandidates: string[]
}

const sleep = async (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls until `done` holds; false when `timeoutMs` passed first. */
async function until (done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!done()) {
    if (Date.now() > deadline) return false
    await sleep(50)
  }
  return true
}

/** Resident memory of a process (VmRSS), in KiB. */
export function rssKiB (pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (match === null) throw new Error(`no VmRSS for process ${pid}`)
  return Number(match[1])
}

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100

/** CPU time (user + system) a process has used so far, in ms. */
export function cpuMs (pid: number): number {
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th of the line.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return (Number(fields[11]) + Number(fields[12])) * 1000 / TICKS_PER_SECOND
}

/** Established TCP connections on local `port` whose sockets belong to process `pid` (from /proc, no tools needed). */
export function establishedConnections (pid: number, port: number): number {
  const inodes = new Set<string>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`)
      if (link.startsWith('socket:[')) inodes.add(link.slice(8, -1))
    } catch {} // closed while we read
  }
  let n = 0
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = ''
    try { text = readFileSync(table, 'utf8') } catch { continue }
    for (const line of text.trim().split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/)
      if (cols[3] === '01' && parseInt((cols[1] ?? '').split(':')[1] ?? '', 16) === port && inodes.has(cols[9] ?? '')) n++
    }
  }
  return n
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

/** A quiet 3 s of a process: its RSS (the median of samples, as it moves with garbage collection) and CPU use. */
async function quietSample (pid: number): Promise<{ rssKiB: number, cpuPercent: number }> {
  const samples: number[] = []
  const cpu = cpuMs(pid)
  const started = performance.now()
  for (let i = 0; i < 10; i++) { samples.push(rssKiB(pid)); await sleep(300) }
  return { rssKiB: median(samples), cpuPercent: 100 * (cpuMs(pid) - cpu) / (performance.now() - started) }
}

interface Prepared { identity: Identity, parent: string, commit: string, pack: Uint8Array, claimedMetric: number }

async function submitAll (client: CoordinatorClient, causeId: string, prepared: Prepared[], pid: number, concurrency = 8): Promise<IntakeRun> {
  const receipts: IntakeRun['receipts'] = []
  const cpu = cpuMs(pid)
  const started = performance.now()
  for (let i = 0; i < prepared.length; i += concurrency) {
    await Promise.all(prepared.slice(i, i + concurrency).map(async ({ identity, parent, commit, pack, claimedMetric }) => {
      const { receipt, signature } = await client.submit(identity, { causeId, parent, candidate: commit, claimedMetric, logDigest: sha256Hex(''), description: 'load' }, pack, { signal: AbortSignal.timeout(60_000) })
      receipts.push({ receipt, signature })
    }))
  }
  return { accepted: receipts.length, seconds: (performance.now() - started) / 1000, coordinatorCpuMs: cpuMs(pid) - cpu, receipts }
}

function events (proc: Proc, type: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = []
  for (const line of proc.lines) {
    if (!line.startsWith('{')) continue
    try {
      const e = JSON.parse(line) as Record<string, unknown>
      if (e.event === type) out.push(e)
    } catch {}
  }
  return out
}

export async function runLoad (opts: LoadOptions): Promise<LoadResult> {
  const log = opts.log ?? (() => {})
  const home = join(opts.scratch, 'home')
  await initHome(home, join(ROOT, 'examples', 'toy-regression'))
  const verifier = Identity.load(homePaths(home).verifierIdentity)
  const procs: Proc[] = []
  let node: AutoresearchNode | undefined
  try {
    const coordinator = startBin('coordinator/bin/autoresearch-coordinator.js', ['serve', '--home', home, '--listen', '/ip4/127.0.0.1/tcp/0', '--http-port', '0', '--json'])
    procs.push(coordinator)
    const ready = await coordinator.waitForJson<{ multiaddrs: string[], http: string }>((e) => e.event === 'ready', 60_000)
    const address = ready.multiaddrs[0] as string
    const port = Number(address.split('/')[4])
    const pid = coordinator.child.pid as number

    // The bench's own peer: submitter and simulated verifier in one connection.
    node = await createNode()
    const client = new CoordinatorClient(node, address)
    const info = await client.info({ signal: AbortSignal.timeout(30_000) })
    const gitdir = join(opts.scratch, 'submitter.git')
    await ensureBareRepo(gitdir)
    await client.sync(gitdir, info.best.commit, [], { signal: AbortSignal.timeout(30_000) })
    const text = await readFileAt(gitdir, info.best.commit, 'train.py') as string

    // Everything is prepared before any timing. Each commit sets one last line of
    // train.py, so any two of them conflict: a variant left on an old best goes stale
    // when the best moves, instead of being rebased again at every merge.
    const edit = async (parent: string, tag: string, claimedMetric: number, identity: Identity): Promise<Prepared> => {
      const commit = await commitWithChanges(gitdir, parent, { 'train.py': `${text}\n# load: ${tag}\n` }, tag)
      return { identity, parent, commit, pack: await packForSubmission(gitdir, commit, parent), claimedMetric }
    }
    // Variants claim less than the merge chain, so the verifier's lease always picks the chain's candidate.
    const variants = async (parent: string, from: number): Promise<Prepared[]> => {
      const out: Prepared[] = []
      let submitter = Identity.generate()
      for (let i = from; i < from + opts.submissions; i++) {
        if (i % 10 === 0) submitter = Identity.generate() // well inside a new identity's daily quota
        out.push(await edit(parent, `variant ${i}`, 1000, submitter))
      }
      return out
    }
    const chain: Prepared[] = []
    let parent = info.best.commit
    for (let k = 1; k <= opts.merges; k++) {
      chain.push(await edit(parent, `merge ${k}`, 99.5 - k, Identity.generate()))
      parent = (chain.at(-1) as Prepared).commit
    }
    const before = await variants(info.best.commit, 0)
    const during = await variants(parent, opts.submissions)
    const after = await variants(parent, 2 * opts.submissions)
    log(`prepared ${chain.length} merges and ${3 * opts.submissions} submissions`)

    // Intake speed drifts over a run (candidates accumulate, other work shares the machine),
    // so the loaded run is compared with runs with no peers before and after it.
    log('intake with no other peer connected (before)')
    const idleBefore = await submitAll(client, info.causeId, before, pid)
    const control = establishedConnections(pid, port)
    const quietBefore = await quietSample(pid)
    const rssBeforeKiB = quietBefore.rssKiB
    const expected = opts.processes * opts.peersPerProcess
    log(`coordinator pid ${pid}: ${rssBeforeKiB} KiB before peers; starting ${opts.processes} × ${opts.peersPerProcess} peers`)
    const peerProcs = Array.from({ length: opts.processes }, (_, p) => startBin('bench/lib/load-peer.js', [
      '--coordinator', address, '--peers', String(opts.peersPerProcess), '--label', String(p)
    ]))
    procs.push(...peerProcs)
    const readies = await Promise.all(peerProcs.map(async (p) => p.waitForJson<{ subscribed: number, coordinatorKey: string }>((e) => e.event === 'ready', 180_000)))
    await sleep(1000) // lets the last subscriptions reach the coordinator
    const connectionsAtStart = establishedConnections(pid, port) - control
    const quietAfter = await quietSample(pid)
    const rssAfterKiB = quietAfter.rssKiB
    log(`${connectionsAtStart} of ${expected} peers connected (${readies.reduce((n, r) => n + r.subscribed, 0)} subscribed); ${rssAfterKiB} KiB`)

    // Each merge: a real submission, leased and attested by the host's verifier key with a clear gain.
    const allDeliveries = (): Delivery[] => peerProcs.flatMap((p) => events(p, 'announcement') as unknown as Delivery[])
    const merged: string[] = []
    for (const [k, c] of chain.entries()) {
      await submitAll(client, info.causeId, [c], pid)
      const { job } = await client.lease(verifier, info.causeId, { class: 'simulated', cpus: 0, gpus: [] }, { signal: AbortSignal.timeout(60_000) })
      if (job === null || job.candidate !== c.commit) throw new Error(`merge ${k + 1}: expected a job for ${c.commit}, got ${JSON.stringify(job)}`)
      const base = 100 - k
      const trials = job.seeds.map((seed, i) => ({ seed, baseline: base + 0.01 * i, candidate: base - 0.5 + 0.01 * ((i * 7) % 3), baselineLogDigest: sha256Hex(''), candidateLogDigest: sha256Hex('') }))
      const { verdict } = await client.attest(verifier, { causeId: info.causeId, jobId: job.jobId, candidate: job.candidate, baseline: job.baseline, trials, hardware: { class: 'simulated', cpus: 0, gpus: [] } }, { signal: AbortSignal.timeout(60_000) })
      if (verdict.state !== 'accepted') throw new Error(`merge ${k + 1} was not accepted: ${verdict.reason}`)
      merged.push(c.commit)
      const all = await until(() => allDeliveries().filter((d) => d.commit === c.commit).length >= expected, 15_000)
      log(`merge ${k + 1}: ${allDeliveries().filter((d) => d.commit === c.commit).length}/${expected} peers announced${all ? '' : ' (timed out)'}`)
    }

    log(`intake with ${expected} peers connected`)
    const loaded = await submitAll(client, info.causeId, during, pid)
    const connectionsAtEnd = establishedConnections(pid, port) - control
    const peersDisconnected = peerProcs.flatMap((p) => events(p, 'disconnected').map((e) => e.peer as string))
    const peers = Array.from({ length: expected }, (_, n) => `${Math.floor(n / opts.peersPerProcess)}.${n % opts.peersPerProcess}`)
    const deliveries = allDeliveries()

    await Promise.all(peerProcs.map(async (p) => p.stop()))
    await until(() => establishedConnections(pid, port) <= control, 15_000)
    log(`${events(coordinator, 'stale').length} candidates went stale, ${events(coordinator, 'rebased').length} were rebased; intake with no other peer connected (after)`)
    const idleAfter = await submitAll(client, info.causeId, after, pid)

    const listed = await (await fetch(`${ready.http}/api/candidates?limit=1000`, { signal: AbortSignal.timeout(30_000) })).json() as { candidates: Array<{ commit: string }> }
    return {
      home, pids: procs.map((p) => p.child.pid as number), coordinatorKey: info.coordinatorKey, peers, peerKeys: readies.map((r) => r.coordinatorKey),
      connectionsAtStart, connectionsAtEnd, peersDisconnected, rssBeforeKiB, rssAfterKiB, idleCpuPercentBefore: quietBefore.cpuPercent, idleCpuPercentAfter: quietAfter.cpuPercent, merged, deliveries, idleBefore, loaded, idleAfter,
      apiCandidates: listed.candidates.map((c) => c.commit)
    }
  } finally {
    await node?.stop()
    await Promise.all(procs.map(async (p) => p.stop()))
  }
}
