/** Git objects an honest client would never write (raw trees, crafted commits) and packs built by hand. */
import * as fs from 'node:fs'
import { createHash } from 'node:crypto'
import { deflateSync } from 'node:zlib'
import git from 'isomorphic-git'
import { objectsMissing } from '@autoresearch/protocol'
import type { Submitter } from './arena.ts'

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
  } catch (err) {
    // A crafted tree may name objects that were never written: the walk skips them.
    if ((err as Error).name === 'NotFoundError') return undefined
    throw err
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
