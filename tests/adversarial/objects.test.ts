/**
 * Packs stuffed with objects: a signed submission carrying thousands of tiny blobs its
 * candidate never uses (issue 12 §5: each was written and flushed before any check, inside
 * the serial intake), a few such objects riding along an honest candidate, and refusals
 * sent again and again from one address. And the other way round (§12): a coordinator
 * whose fetch reply carries junk must not get it onto a volunteer's disk.
 */
import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CoordinatorClient, createNode, ensureBareRepo, FetchRequest, handleRequests, Identity, InfoRequest, LeaseRequest,
  PROTOCOL, submissionRules, type AutoresearchNode, type InfoReply
} from '@autoresearch/protocol'
import { addressKey, quotaUsed, REFUSALS } from 'autoresearch-coordinator'
import { Verifier } from 'autoresearch-verifier'
import { searchAgent, Worker } from 'autoresearch-worker'
import { expectRefused, startArena, type Arena } from './arena.ts'
import { submissionBody, submitCommit, trainEdit } from './messages.ts'
import { buildPack, candidateObjects, rawCandidateObjects, type PackObject } from './git-objects.ts'

/** `n` distinct tiny blobs, none of which any tree names. */
const junkBlobs = (n: number, tag: string): PackObject[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'blob' as const, content: new TextEncoder().encode(`${tag} ${i}\n`) }))

function looseObjects (gitdir: string): number {
  const objects = join(gitdir, 'objects')
  return readdirSync(objects).filter((d) => /^[0-9a-f]{2}$/.test(d)).reduce((n, d) => n + readdirSync(join(objects, d)).length, 0)
}

describe('packs stuffed with objects (intake)', () => {
  let arena: Arena
  beforeAll(async () => { arena = await startArena() })
  afterAll(async () => { await arena.stop() })

  const store = () => arena.running.coordinator.store
  const address = '127.0.0.1'

  it('refuses a signed submission carrying thousands of unreferenced tiny blobs at once, stores none, and charges the sender', async () => {
    const mallory = Identity.generate()
    const commit = await trainEdit(arena, 'stuffed')
    const honest = await rawCandidateObjects(arena.gitdir, commit, arena.best)
    const pack = buildPack([...honest, ...junkBlobs(3000, 'tiny')])
    const cap = submissionRules(arena.running.coordinator.manifest).maxObjects
    const usedBefore = quotaUsed(store(), mallory.publicKey)
    const addressBefore = store().refusalsSince({ address }, 0)
    const started = performance.now()
    const err = await expectRefused(arena, async () => submitCommit(arena, commit, { identity: mallory, pack }), 'TooManyObjectsError')
    const refusedMs = performance.now() - started
    expect(err.message).toContain(`${honest.length + 3000} objects`)
    expect(err.message).toContain(`at most ${cap}`)
    // Before the fix every blob was written and flushed in turn: about 28 s for this pack.
    // Refused from the pack's header, it costs about what an honest submission does.
    const t = performance.now()
    await submitCommit(arena, await trainEdit(arena, 'honest after stuffed'), { identity: Identity.generate() })
    expect(refusedMs).toBeLessThan(Math.max(5 * (performance.now() - t), 2000))
    expect(quotaUsed(store(), mallory.publicKey)).toBe(usedBefore + 1 / REFUSALS.perSubmission)
    expect(store().refusalsSince({ address }, 0)).toBe(addressBefore + 1)
  })

  it('refuses an honest candidate\'s pack with a few unreferenced objects riding along, under the cap', async () => {
    const commit = await trainEdit(arena, 'hitchhikers')
    const honest = await rawCandidateObjects(arena.gitdir, commit, arena.best)
    const extra = junkBlobs(5, 'hitchhiker')
    expect(honest.length + extra.length).toBeLessThan(submissionRules(arena.running.coordinator.manifest).maxObjects)
    const err = await expectRefused(arena, async () => submitCommit(arena, commit, { pack: buildPack([...honest, ...extra]) }), 'TooManyObjectsError')
    expect(err.message).toContain('5 object(s)')
    expect(err.message).toContain('does not use')
    // The same candidate with its own objects only is taken.
    await submitCommit(arena, commit, { pack: buildPack(honest) })
  })

  it('does not charge one identity twice for the same refused submission sent again by someone else', async () => {
    const victim = Identity.generate()
    const commit = await trainEdit(arena, 'replayed refusal')
    const pack = buildPack([...await rawCandidateObjects(arena.gitdir, commit, arena.best), ...junkBlobs(3, 'replay')])
    const body = submissionBody(arena, victim, commit, pack)
    const signature = victim.sign('submission', body)
    const client = await arena.clientFor(victim)
    await expectRefused(arena, async () => client.submitSigned(body, signature, pack), 'TooManyObjectsError')
    const used = quotaUsed(store(), victim.publicKey)
    await expectRefused(arena, async () => arena.client.submitSigned(body, signature, pack), 'TooManyObjectsError')
    expect(quotaUsed(store(), victim.publicKey)).toBe(used)
  })
})

describe('refusals charged to an address', () => {
  const PER_ADDRESS = 3
  let arena: Arena
  beforeAll(async () => { arena = await startArena({ config: { refusalsPerAddress: PER_ADDRESS } }) })
  afterAll(async () => { await arena.stop() })

  it(`refuses every submission from an address after ${PER_ADDRESS} refusals, whatever key signs it`, async () => {
    for (let i = 0; i < PER_ADDRESS; i++) {
      const commit = await trainEdit(arena, `fresh key ${i}`)
      const pack = buildPack([...await rawCandidateObjects(arena.gitdir, commit, arena.best), ...junkBlobs(2, `key ${i}`)])
      await expectRefused(arena, async () => submitCommit(arena, commit, { identity: Identity.generate(), pack }), 'TooManyObjectsError')
    }
    // A valid candidate under yet another fresh key, from the same address.
    const err = await expectRefused(arena, async () => submitCommit(arena, await trainEdit(arena, 'valid, same address'), { identity: Identity.generate() }), 'QuotaExceededError')
    expect(err.message).toContain(`${PER_ADDRESS} submissions from 127.0.0.1 were refused`)
  })

  it('forgets refusals once no window counts them, so a flood of refusals keeps one window of rows', () => {
    const store = arena.running.coordinator.store
    const now = Date.now()
    const old = { address: '198.51.100.9', publicKey: null, nonce: null, error: 'CorruptPackError' }
    for (let i = 0; i < 5; i++) store.recordRefusal({ ...old, at: now - REFUSALS.keepMs - 1000 }, now - 2 * REFUSALS.keepMs)
    expect(store.refusalsSince({ address: old.address }, 0)).toBe(5)
    store.recordRefusal({ ...old, at: now }, now - REFUSALS.keepMs)
    expect(store.refusalsSince({ address: old.address }, 0)).toBe(1)
  })

  it('keys addresses by IPv4 address and IPv6 /64', () => {
    expect(addressKey('/ip4/203.0.113.7/tcp/4001/p2p/12D3KooW')).toBe('203.0.113.7')
    expect(addressKey('/ip6/2001:db8:0:12::1/tcp/4001')).toBe('2001:db8:0:12::/64')
    expect(addressKey('/ip6/2001:db8::12:1/tcp/4001')).toBe('2001:db8:0:0::/64')
    expect(addressKey('/dns4/example.org/tcp/4001')).toBeNull()
    expect(addressKey(undefined)).toBeNull()
  })
})

/**
 * A coordinator that answers `info` and `lease` truthfully (from a real one) and every
 * `fetch` with the honest objects plus thousands of junk blobs.
 */
async function junkCoordinator (arena: Arena, junk: number): Promise<{ node: AutoresearchNode, address: string, info: InfoReply, candidate: string }> {
  const info = await arena.client.info()
  const candidate = await trainEdit(arena, 'served with junk')
  const node = await createNode({ listen: ['/ip4/127.0.0.1/tcp/0'] })
  await handleRequests(node, PROTOCOL.info, InfoRequest, async () => info)
  await handleRequests(node, PROTOCOL.lease, LeaseRequest, async () => ({
    ok: true, retryAfterMs: 0, job: { jobId: 1, candidateSeq: 1, baseline: info.best.commit, candidate, seeds: [1], leaseExpiresAt: Date.now() + 60_000 }
  }))
  await handleRequests(node, PROTOCOL.fetch, FetchRequest, async (req, ctx) => {
    // What an honest coordinator would send a volunteer that has nothing yet, and the junk.
    const objects = await candidateObjects(arena.gitdir, req.want, '')
    const pack = buildPack([...objects, ...junkBlobs(junk, `junk for ${req.want}`)])
    await ctx.framed.writeJson({ ok: true, objects: objects.length + junk, bytes: pack.byteLength })
    await ctx.framed.writeBytes(pack)
    return undefined
  })
  return { node, address: node.getMultiaddrs()[0]!.toString(), info, candidate }
}

describe('a coordinator flooding a volunteer on fetch', () => {
  let arena: Arena
  let fake: Awaited<ReturnType<typeof junkCoordinator>>
  const nodes: AutoresearchNode[] = []
  beforeAll(async () => {
    arena = await startArena()
    fake = await junkCoordinator(arena, 3000)
  })
  afterAll(async () => {
    await Promise.all(nodes.map(async (n) => n.stop()))
    await fake.node.stop()
    await arena.stop()
  })

  const clientOf = async (): Promise<CoordinatorClient> => {
    const node = await createNode()
    nodes.push(node)
    return new CoordinatorClient(node, fake.address)
  }

  it('refuses a fetch reply laden with thousands of junk objects and stores none of them', async () => {
    const gitdir = join(mkdtempSync(join(tmpdir(), 'ar-adv-fetch-')), 'cause.git')
    await ensureBareRepo(gitdir)
    const client = await clientOf()
    const err = await client.sync(gitdir, fake.info.best.commit, [], { limits: fake.info.manifest.limits }).then(() => undefined, (e: Error) => e)
    expect(err?.name).toBe('TooManyObjectsError')
    expect(err?.message).toContain('3000 object(s)')
    expect(looseObjects(gitdir)).toBe(0)
  })

  it('makes the worker refuse the best\'s fetch with the same typed error, writing no object', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'ar-adv-worker-'))
    const identity = Identity.generate()
    const worker = new Worker({ client: await clientOf(), identity, agent: searchAgent(), stateDir })
    const err = await worker.step().then(() => undefined, (e: Error) => e)
    expect(err?.name).toBe('TooManyObjectsError')
    expect(looseObjects(join(stateDir, 'cause.git'))).toBe(0)
  })

  it('makes the verifier refuse the job\'s fetch with the same typed error, writing no object', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'ar-adv-verifier-'))
    const verifier = new Verifier({ client: await clientOf(), identity: Identity.generate(), stateDir })
    const err = await verifier.runOnce().then(() => undefined, (e: Error) => e)
    expect(err?.name).toBe('TooManyObjectsError')
    expect(looseObjects(join(stateDir, 'cause.git'))).toBe(0)
  })
})
