/**
 * The adversarial suite's arena: a coordinator on 127.0.0.1 with hostile peers around
 * it, and a snapshot of everything a refused request must leave alone. The tools to
 * craft what an honest client never sends are beside it: messages.ts (submissions,
 * leases, attestations), git-objects.ts (raw trees, commits, hand-built packs),
 * raw-frames.ts (bytes on a protocol) and coordinator-process.ts (a coordinator in its
 * own process).
 */
import * as fs from 'node:fs'
import { cpSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import git from 'isomorphic-git'
import { expect } from 'vitest'
import { CoordinatorClient, createNode, ensureBareRepo, Identity, type AutoresearchNode } from '@autoresearch/protocol'
import { BEST_REF, credits, homePaths, type RunningCoordinator } from 'autoresearch-coordinator'
import { ROOT } from '../processes.ts'
import { TestNetwork } from '../network.ts'

export const TOY = join(ROOT, 'examples', 'toy-regression')
export const NOISY = join(ROOT, 'tests', 'fixtures', 'noisy-cause')
export const HARDWARE = { class: 'adversarial-test', cpus: 1, gpus: [] }

export const sleep = async (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

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
  const packDir = join(paths.gitdir, 'objects', 'pack')
  const identities = store.dump('identities').filter((r) => !isEmptyIdentity(r))
  const credit = credits(store, manifest).filter((c) =>
    c.verifiedGain !== 0 || c.merges !== 0 || c.verificationRuns !== 0 || c.accepted !== 0 || c.rejected !== 0 || c.contradicted !== 0 || c.banned || c.verifierReputation !== 0)
  return {
    candidates: store.dump('candidates'),
    nonces: store.dump('nonces'),
    jobs: store.dump('jobs'),
    attestations: store.dump('attestations'),
    merges: store.dump('merges'),
    identities,
    seedPools: store.dump('seed_pools'),
    meta: store.dump('meta'),
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
