/**
 * Shared kit of the adversarial suite: a coordinator on 127.0.0.1 with hostile peers
 * around it, a snapshot of everything a refused request must leave alone, and tools to
 * craft what an honest client never sends (raw frames, raw trees, hand-built packs).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import { cpSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { createInterface } from 'node:readline'
import { deflateSync } from 'node:zlib'
import git from 'isomorphic-git'
import type { Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'vitest'
import {
  AttestReply, commitWithChanges, CoordinatorClient, createNode, ensureBareRepo, FramedStream, Identity, LeaseReply, MAX_MESSAGE_BYTES, newNonce,
  objectsMissing, PROTOCOL, readFileAt, request, sha256Hex, type AttestationBody, type AutoresearchNode, type Job, type LeaseRequestBody,
  type SubmissionBody, type SubmitReply, type Trial
} from '@autoresearch/protocol'
import { BEST_REF, credits, homePaths, initHome, type RunningCoordinator } from 'autoresearch-coordinator'
import { ROOT } from '../processes.ts'
import { TestNetwork } from '../network.ts'

export const TOY = join(ROOT, 'examples', 'toy-regression')
export const NOISY = join(ROOT, 'tests', 'fixtures', 'noisy-cause')
export const HARDWARE = { class: 'adversarial-test', cpus: 1, gpus: [] }

// ---------------------------------------------------------------------------------------
// The arena: one coordinator, one attacker with a local copy of the best, honest peers.

/** What a hostile submitter needs: the cause, its best, a repository and a client. */
export interface Submitter {
  causeId: string
  /** The hostile peer's identity, libp2p node and client. */
  attacker: Identity
  client: CoordinatorClient
  node: AutoresearchNode
  /** The attacker's bare repository, holding the current best. */
  gitdir: string
  best: string
  clientFor: (identity: Identity) => Promise<CoordinatorClient>
}

export interface Arena extends Submitter {
  net: TestNetwork
  readonly running: RunningCoordinator
  /** The host's own verifier (allowlisted by init). */
  verifier: Identity
  /** An honest peer that checks the coordinator still answers after each attack. */
  honest: Identity
  stop: () => Promise<void>
}

/** A hostile peer of a coordinator running elsewhere (another process). */
export async function submitterFor (address: string): Promise<Submitter & { stop: () => Promise<void> }> {
  const attacker = Identity.generate()
  const nodes: AutoresearchNode[] = []
  const clientFor = async (identity: Identity): Promise<CoordinatorClient> => {
    const node = await createNode({ identity })
    nodes.push(node)
    return new CoordinatorClient(node, address)
  }
  const client = await clientFor(attacker)
  const gitdir = join(mkdtempSync(join(tmpdir(), 'ar-adv-sub-')), 'repo.git')
  await ensureBareRepo(gitdir)
  const info = await client.info()
  await client.sync(gitdir, info.best.commit, [])
  return { causeId: info.causeId, attacker, client, node: client.node, gitdir, best: info.best.commit, clientFor, stop: async () => { await Promise.all(nodes.map(async (n) => n.stop())) } }
}

/**
 * Starts a coordinator for `cause` (a directory) with `config` merged into its config.json;
 * `extraVerifiers` join the host's own verifier on the allowlist.
 */
export async function startArena (opts: { cause?: string, config?: Record<string, unknown>, extraVerifiers?: Identity[] } = {}): Promise<Arena> {
  const net = await TestNetwork.start(opts.cause ?? TOY, opts.config ?? {})
  if (opts.extraVerifiers !== undefined) {
    const configPath = homePaths(net.home).config
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as { verifiers: string[] }
    config.verifiers.push(...opts.extraVerifiers.map((v) => v.publicKey))
    writeFileSync(configPath, JSON.stringify(config))
    await net.restart()
  }
  const attacker = Identity.generate()
  const client = await net.client(attacker)
  const gitdir = join(net.scratch, 'attacker.git')
  await ensureBareRepo(gitdir)
  const info = await client.info()
  await client.sync(gitdir, info.best.commit, [])
  return {
    net,
    get running () { return net.running },
    causeId: info.causeId,
    attacker,
    client,
    node: client.node,
    gitdir,
    best: info.best.commit,
    verifier: net.verifierIdentity,
    honest: Identity.generate(),
    clientFor: async (identity) => net.client(identity),
    stop: async () => { await net.stop() }
  }
}

/** A copy of a cause directory whose manifest is changed by `edit` (for special limits). */
export function causeWith (cause: string, edit: (manifest: Record<string, any>) => void): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'ar-adv-cause-')), 'cause')
  cpSync(cause, dir, { recursive: true })
  const path = join(dir, 'autoresearch.json')
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as Record<string, any>
  edit(manifest)
  writeFileSync(path, JSON.stringify(manifest, null, 2))
  return dir
}

// ---------------------------------------------------------------------------------------
// Snapshot: every row, ref, object and credit a refused request must leave unchanged.

/** An identities row that only records that a key was seen (store.identity() makes one on any read). */
const isEmptyIdentity = (r: Record<string, unknown>): boolean =>
  r.banned === 0 && r.ban_reason === null && r.accepted === 0 && r.rejected === 0 && r.contradicted === 0 && r.verifier_agreed === 0 && r.verifier_disagreed === 0

export interface Snapshot {
  candidates: unknown[]
  nonces: unknown[]
  jobs: unknown[]
  attestations: unknown[]
  merges: unknown[]
  /** Rows with any counter, ban or reputation; all-default rows are dropped (see docs/adversarial.md). */
  identities: unknown[]
  seedPools: unknown[]
  meta: unknown[]
  /** The best ref, and every ref of the coordinator's repository. */
  ref: string
  refs: string[]
  /** Pack files with their sizes, and loose objects. */
  packs: Array<{ name: string, bytes: number }>
  looseObjects: string[]
  /** `credits(store, manifest)` without entries that credit nothing. */
  credits: unknown[]
}

function listLoose (gitdir: string): string[] {
  const objects = join(gitdir, 'objects')
  const out: string[] = []
  for (const dir of readdirSync(objects)) {
    if (!/^[0-9a-f]{2}$/.test(dir)) continue
    for (const file of readdirSync(join(objects, dir))) out.push(dir + file)
  }
  return out.sort()
}

/** What verification may never change for a candidate it did not accept: the best, the merges, anyone's verified credit. */
export function standing (s: Snapshot): Record<string, unknown> {
  return {
    ref: s.ref,
    merges: s.merges,
    gains: (s.credits as Array<{ publicKey: string, verifiedGain: number, merges: number }>)
      .filter((c) => c.verifiedGain !== 0 || c.merges !== 0).map((c) => ({ publicKey: c.publicKey, verifiedGain: c.verifiedGain, merges: c.merges }))
  }
}

export async function snapshot (running: RunningCoordinator): Promise<Snapshot> {
  const { store, paths, manifest } = running.coordinator
  const all = (sql: string): unknown[] => store.db.prepare(sql).all()
  const packDir = join(paths.gitdir, 'objects', 'pack')
  const identities = (store.db.prepare('SELECT * FROM identities ORDER BY public_key').all() as Array<Record<string, unknown>>).filter((r) => !isEmptyIdentity(r))
  const credit = credits(store, manifest).filter((c) =>
    c.verifiedGain !== 0 || c.merges !== 0 || c.verificationRuns !== 0 || c.accepted !== 0 || c.rejected !== 0 || c.contradicted !== 0 || c.banned || c.verifierReputation !== 0)
  return {
    candidates: all('SELECT * FROM candidates ORDER BY seq'),
    nonces: all('SELECT * FROM nonces ORDER BY public_key, nonce'),
    jobs: all('SELECT * FROM jobs ORDER BY id'),
    attestations: all('SELECT * FROM attestations ORDER BY id'),
    merges: all('SELECT * FROM merges ORDER BY seq'),
    identities,
    seedPools: all('SELECT * FROM seed_pools ORDER BY best_commit'),
    meta: all('SELECT * FROM meta ORDER BY key'),
    ref: await git.resolveRef({ fs, gitdir: paths.gitdir, ref: BEST_REF }),
    refs: (await git.listRefs({ fs, gitdir: paths.gitdir, filepath: 'refs' })).sort(),
    packs: fs.existsSync(packDir) ? readdirSync(packDir).sort().map((name) => ({ name, bytes: statSync(join(packDir, name)).size })) : [],
    looseObjects: listLoose(paths.gitdir),
    credits: credit
  }
}

/** The coordinator still answers a fresh honest peer, with the same best. */
export async function expectAlive (arena: Arena, best = arena.running.coordinator.bestCommit()): Promise<void> {
  const info = await (await arena.clientFor(arena.honest)).info()
  expect(info.best.commit).toBe(best)
}

/**
 * Runs a hostile `action`, which must be refused with an error named `name` (or, with
 * `name` undefined, refused at all), and proves the database, refs, objects and credits
 * are exactly as before and that the coordinator still answers.
 */
export async function expectRefused (arena: Arena, action: () => Promise<unknown>, name: string | undefined): Promise<Error> {
  const before = await snapshot(arena.running)
  let error: unknown
  try {
    const result = await action()
    expect.fail(`the hostile request was accepted: ${JSON.stringify(result).slice(0, 300)}`)
  } catch (err) {
    error = err
  }
  expect(error).toBeInstanceOf(Error)
  const err = error as Error
  expect(err.message).not.toMatch(/^the hostile request was accepted/)
  if (name !== undefined) expect(err.name, `${err.name}: ${err.message}`).toBe(name)
  expect(await snapshot(arena.running)).toEqual(before)
  await expectAlive(arena)
  return err
}

// ---------------------------------------------------------------------------------------
// Candidates and submissions.

let counter = 0
/** A unique harmless line, so every candidate has a tree of its own. */
export const uniqueLine = (tag = 'edit'): string => `\n# ${tag} ${++counter} ${randomBytes(4).toString('hex')}\n`

/** A commit on `parent` (default: the arena's best) appending a unique comment to train.py. */
export async function trainEdit (arena: Submitter, tag = 'edit', parent = arena.best, gitdir = arena.gitdir): Promise<string> {
  const text = await readFileAt(gitdir, parent, 'train.py') as string
  return commitWithChanges(gitdir, parent, { 'train.py': text + uniqueLine(tag) }, tag)
}

export interface SubmitFields {
  parent?: string
  causeId?: string
  claimedMetric?: number
  time?: number
  nonce?: string
  publicKey?: string
  packSha256?: string
}

/** A submission body for `commit` and `pack`, with any field overridden. */
export function submissionBody (arena: Submitter, identity: Identity, commit: string, pack: Uint8Array, o: SubmitFields = {}): SubmissionBody {
  return {
    type: 'submission',
    causeId: o.causeId ?? arena.causeId,
    parent: o.parent ?? arena.best,
    candidate: commit,
    packSha256: o.packSha256 ?? sha256Hex(pack),
    claimedMetric: o.claimedMetric ?? 0.05,
    logDigest: sha256Hex('log'),
    description: 'adversarial test',
    publicKey: o.publicKey ?? identity.publicKey,
    nonce: o.nonce ?? newNonce(),
    time: o.time ?? Date.now()
  }
}

/** Signs and sends a submission of `commit` with `pack` (default: the honest pack on its parent). */
export async function submitCommit (arena: Submitter, commit: string, opts: SubmitFields & { identity?: Identity, client?: CoordinatorClient, pack?: Uint8Array } = {}): Promise<SubmitReply> {
  const identity = opts.identity ?? arena.attacker
  const client = opts.client ?? (opts.identity === undefined ? arena.client : await arena.clientFor(identity))
  const pack = opts.pack ?? await rawPack(arena.gitdir, commit, opts.parent ?? arena.best)
  const body = submissionBody(arena, identity, commit, pack, opts)
  return client.submitSigned(body, identity.sign('submission', body), pack)
}

// ---------------------------------------------------------------------------------------
// Raw git objects: trees and commits an honest client would never write.

export interface RawEntry { mode: string, name: string, oid: string }

/** A tree object written byte for byte, in the given order, with no checks at all. */
export async function writeRawTree (gitdir: string, entries: RawEntry[]): Promise<string> {
  const parts = entries.map((e) => Buffer.concat([Buffer.from(`${e.mode} ${e.name}\0`, 'utf8'), Buffer.from(e.oid, 'hex')]))
  return git.writeObject({ fs, gitdir, type: 'tree', object: Buffer.concat(parts), format: 'content' })
}

/** The root entries of a commit's tree, in git's raw modes ("40000" for directories). */
export async function rootEntries (gitdir: string, commit: string): Promise<RawEntry[]> {
  const { commit: c } = await git.readCommit({ fs, gitdir, oid: commit })
  const { tree } = await git.readTree({ fs, gitdir, oid: c.tree })
  return tree.map((e) => ({ mode: e.mode === '040000' ? '40000' : e.mode, name: e.path, oid: e.oid }))
}

/** A commit with `tree` and any list of parents (none, one, two). */
export async function writeCommit (gitdir: string, tree: string, parents: string[], message = 'crafted'): Promise<string> {
  const author = { name: 'mallory', email: 'mallory@example.invalid', timestamp: Math.floor(Date.now() / 1000), timezoneOffset: 0 }
  return git.writeCommit({ fs, gitdir, commit: { tree, parent: parents, author, committer: author, message: `${message}\n` } })
}

export async function writeBlob (gitdir: string, text: string | Uint8Array): Promise<string> {
  return git.writeBlob({ fs, gitdir, blob: typeof text === 'string' ? new TextEncoder().encode(text) : text })
}

/** Parses a raw tree object without any of isomorphic-git's checks (names, modes, order). */
export function parseRawTree (bytes: Uint8Array): RawEntry[] {
  const buf = Buffer.from(bytes)
  const entries: RawEntry[] = []
  let at = 0
  while (at < buf.length) {
    const space = buf.indexOf(32, at)
    const nul = buf.indexOf(0, space)
    entries.push({ mode: buf.subarray(at, space).toString('utf8'), name: buf.subarray(space + 1, nul).toString('utf8'), oid: buf.subarray(nul + 1, nul + 21).toString('hex') })
    at = nul + 21
  }
  return entries
}

async function rawObject (gitdir: string, oid: string): Promise<{ type: ObjectType, content: Uint8Array } | undefined> {
  try {
    const { type, object } = await git.readObject({ fs, gitdir, oid, format: 'content' })
    return { type: type as ObjectType, content: object as Uint8Array }
  } catch {
    return undefined
  }
}

/** Every object of `commit` that `parent` does not have, found by walking raw trees (crafted ones included). */
export async function rawCandidateObjects (gitdir: string, commit: string, parent: string): Promise<Array<PackObject & { oid: string }>> {
  const known = new Set(await objectsMissing(gitdir, parent, []))
  const out: Array<PackObject & { oid: string }> = []
  const seen = new Set<string>()
  const visit = async (oid: string): Promise<void> => {
    if (seen.has(oid) || known.has(oid)) return
    seen.add(oid)
    const object = await rawObject(gitdir, oid)
    if (object === undefined) return
    out.push({ oid, ...object })
    if (object.type === 'tree') {
      for (const e of parseRawTree(object.content)) if (!e.mode.startsWith('160')) await visit(e.oid)
    }
  }
  const { commit: c } = await git.readCommit({ fs, gitdir, oid: commit })
  seen.add(commit)
  out.push({ oid: commit, ...(await rawObject(gitdir, commit))! })
  await visit(c.tree)
  return out
}

/** The pack a submitter of a crafted commit sends: its new objects, built by hand. */
export async function rawPack (gitdir: string, commit: string, parent: string): Promise<Uint8Array> {
  return buildPack(await rawCandidateObjects(gitdir, commit, parent))
}

/** Git's tree order: byte order of names, a directory compared as `name/`. */
export function canonicalOrder (entries: RawEntry[]): RawEntry[] {
  const key = (e: RawEntry): Buffer => Buffer.from(e.mode === '40000' ? `${e.name}/` : e.name)
  return [...entries].sort((a, b) => Buffer.compare(key(a), key(b)))
}

/**
 * A commit on the best whose root tree is the best's with `edit` applied to its raw
 * entries, written in git's canonical order (so the attack under test is the edit,
 * not the order; the re-encoding attack writes its tree itself).
 */
export async function craftedCandidate (arena: Submitter, edit: (entries: RawEntry[]) => RawEntry[] | Promise<RawEntry[]>, parents = [arena.best]): Promise<string> {
  const entries = canonicalOrder(await edit(await rootEntries(arena.gitdir, arena.best)))
  return writeCommit(arena.gitdir, await writeRawTree(arena.gitdir, entries), parents)
}

// ---------------------------------------------------------------------------------------
// Packs built by hand: any objects, any bytes, an honest or a dishonest trailer.

const TYPE_CODE = { commit: 1, tree: 2, blob: 3, tag: 4 } as const
export type ObjectType = keyof typeof TYPE_CODE

export interface PackObject { type: ObjectType, content: Uint8Array, /** zlib stream to use instead of deflating `content`. */ deflated?: Uint8Array }

function objectHeader (typeCode: number, size: number): Buffer {
  const bytes: number[] = []
  let byte = (typeCode << 4) | (size & 0x0f)
  size = Math.floor(size / 16)
  while (size > 0) {
    bytes.push(byte | 0x80)
    byte = size & 0x7f
    size = Math.floor(size / 128)
  }
  bytes.push(byte)
  return Buffer.from(bytes)
}

/** A version-2 pack of undeltified objects; `count` may lie; the SHA-1 trailer is correct unless `trailer` is given. */
export function buildPack (objects: PackObject[], opts: { count?: number, trailer?: Uint8Array } = {}): Uint8Array {
  const header = Buffer.alloc(12)
  header.write('PACK', 0, 'latin1')
  header.writeUInt32BE(2, 4)
  header.writeUInt32BE(opts.count ?? objects.length, 8)
  const body = Buffer.concat([header, ...objects.flatMap((o) => [objectHeader(TYPE_CODE[o.type], o.content.byteLength), Buffer.from(o.deflated ?? deflateSync(o.content))])])
  return Buffer.concat([body, opts.trailer ?? createHash('sha1').update(body).digest()])
}

/** Recomputes a pack's SHA-1 trailer after its bytes were changed. */
export function retrailer (pack: Uint8Array): Uint8Array {
  const body = Buffer.from(pack.subarray(0, pack.byteLength - 20))
  return Buffer.concat([body, createHash('sha1').update(body).digest()])
}

/** The objects a submission of `commit` on `parent` would carry, read back from the attacker's repository. */
export async function candidateObjects (gitdir: string, commit: string, parent: string): Promise<Array<PackObject & { oid: string }>> {
  const oids = await objectsMissing(gitdir, commit, [parent])
  const out: Array<PackObject & { oid: string }> = []
  for (const oid of oids) {
    const { type, object } = await git.readObject({ fs, gitdir, oid, format: 'content' })
    out.push({ oid, type: type as ObjectType, content: object as Uint8Array })
  }
  return out
}

// ---------------------------------------------------------------------------------------
// Raw frames: talk to a protocol byte by byte.

export function varint (n: number): Uint8Array {
  const out: number[] = []
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    out.push(byte)
  } while (n > 0)
  return Uint8Array.from(out)
}

/** A length-prefixed frame around `body`. */
export function frame (body: Uint8Array | string): Uint8Array {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body
  return Buffer.concat([varint(bytes.byteLength), bytes])
}

export interface RawStream {
  stream: Stream
  /** Writes raw bytes, waiting for the stream to drain when its buffer is full. */
  send: (bytes: Uint8Array) => Promise<void>
  /** Closes our writing side (the coordinator sees the end of the stream). */
  closeWrite: () => Promise<void>
  /** Reads one framed reply and parses it as JSON. */
  reply: (timeoutMs?: number) => Promise<{ ok: boolean, error?: { name: string, message: string } } & Record<string, unknown>>
  abort: () => void
}

export async function rawStream (node: AutoresearchNode, address: string, protocol: string): Promise<RawStream> {
  const stream = await node.dialProtocol(multiaddr(address), protocol, { signal: AbortSignal.timeout(10_000) })
  let framed: FramedStream | undefined
  return {
    stream,
    send: async (bytes) => {
      if (!stream.send(bytes)) await stream.onDrain({ signal: AbortSignal.timeout(30_000) })
    },
    closeWrite: async () => { await stream.close({ signal: AbortSignal.timeout(5_000) }) },
    reply: async (timeoutMs = 10_000) => {
      framed ??= new FramedStream(stream, { timeoutMs })
      return JSON.parse(new TextDecoder().decode(await framed.readBytes(MAX_MESSAGE_BYTES)))
    },
    abort: () => { stream.abort(new Error('test done')) }
  }
}

/** Turns a raw `{ok:false, error}` reply into a thrown error with that name, as the client does. */
export function throwIfError (reply: { ok: boolean, error?: { name: string, message: string } }): unknown {
  if (reply.ok === false && reply.error !== undefined) {
    const err = new Error(reply.error.message)
    err.name = reply.error.name
    throw err
  }
  return reply
}

export const sleep = async (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

// ---------------------------------------------------------------------------------------
// A coordinator in its own process, for attacks that may take the whole process down.

export interface CoordinatorProcess {
  child: ChildProcess
  address: string
  home: string
  lines: string[]
  /** Whether the process is still running. */
  alive: () => boolean
  stop: () => Promise<void>
}

/** Runs `autoresearch-coordinator serve` on a fresh home made from `cause`, with a V8 heap of `heapMb`. */
export async function spawnCoordinator (cause = TOY, opts: { heapMb?: number } = {}): Promise<CoordinatorProcess> {
  const home = join(mkdtempSync(join(tmpdir(), 'ar-adv-proc-')), 'home')
  await initHome(home, cause)
  const args = [...(opts.heapMb === undefined ? [] : [`--max-old-space-size=${opts.heapMb}`]), join(ROOT, 'coordinator', 'bin', 'autoresearch-coordinator.js'),
    'serve', '--home', home, '--listen', '/ip4/127.0.0.1/tcp/0', '--http-port', '0', '--json']
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_NO_WARNINGS: '1' } })
  const lines: string[] = []
  createInterface({ input: child.stderr! }).on('line', (line) => { lines.push(`stderr: ${line}`) })
  const address = await new Promise<string>((resolvePromise, reject) => {
    const timer = setTimeout(() => { reject(new Error(`coordinator did not start:\n${lines.join('\n')}`)) }, 60_000)
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line)
      try {
        const event = JSON.parse(line) as { event?: string, multiaddrs?: string[] }
        if (event.event === 'ready') { clearTimeout(timer); resolvePromise(event.multiaddrs![0]!) }
      } catch {}
    })
    child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`coordinator exited (${code ?? signal}):\n${lines.join('\n')}`)) })
  })
  const alive = (): boolean => child.exitCode === null && child.signalCode === null
  return {
    child, address, home, lines, alive,
    stop: async () => {
      if (!alive()) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
  }
}

// ---------------------------------------------------------------------------------------
// Leases and attestations, signed by anyone, sent as they are.

export function leaseBody (arena: Submitter, identity: Identity, o: { causeId?: string, time?: number, publicKey?: string } = {}): LeaseRequestBody {
  return { type: 'lease-request', causeId: o.causeId ?? arena.causeId, publicKey: o.publicKey ?? identity.publicKey, hardware: HARDWARE, nonce: newNonce(), time: o.time ?? Date.now() }
}

/** Trials for every seed of `job`: the same baseline, and `candidate(i)` for the candidate. */
export const trialsFor = (job: Job, baseline: number, candidate: (i: number) => number): Trial[] =>
  job.seeds.map((seed, i) => ({ seed, baseline, candidate: candidate(i), baselineLogDigest: sha256Hex('b'), candidateLogDigest: sha256Hex('c') }))

export function attestationBody (arena: Submitter, identity: Identity, job: Job, trials: Trial[], o: { causeId?: string, time?: number, jobId?: number, candidate?: string, baseline?: string } = {}): AttestationBody {
  return {
    type: 'attestation', causeId: o.causeId ?? arena.causeId, jobId: o.jobId ?? job.jobId, candidate: o.candidate ?? job.candidate, baseline: o.baseline ?? job.baseline,
    trials, hardware: HARDWARE, publicKey: identity.publicKey, time: o.time ?? Date.now()
  }
}

/** Sends a lease request with whatever signature is given. */
export async function sendLease (client: CoordinatorClient, body: LeaseRequestBody, signature: string): Promise<LeaseReply> {
  const { reply, framed } = await request(client.node, client.address, PROTOCOL.lease, { type: 'lease', body, signature }, LeaseReply)
  await framed.close()
  return reply
}

/** Sends an attestation with whatever signature is given (a replay, another domain's signature…). */
export async function sendAttestation (client: CoordinatorClient, body: AttestationBody, signature: string): Promise<AttestReply> {
  const { reply, framed } = await request(client.node, client.address, PROTOCOL.attest, { type: 'attest', body, signature }, AttestReply)
  await framed.close()
  return reply
}
