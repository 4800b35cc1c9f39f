import { createHash } from 'node:crypto'
import { inflateSync } from 'node:zlib'
import { CorruptPackError, ForbiddenEntryError, PackTooLargeError } from './errors.ts'

const TYPES: Record<number, string> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' }

export interface PackObject { oid: string, type: string, size: number }
export interface PackEntry extends PackObject { content: Buffer, /** Where the entry's zlib stream starts in the pack (to inflate it again later). */ dataOffset: number }

/**
 * Walks every entry of a pack, one at a time, before anything is stored. Our packs
 * are never deltified, so delta entries (types 6 and 7) are refused: they are what
 * made isomorphic-git's indexer recurse forever on a self-referencing delta. Each
 * entry is inflated with its declared size as a hard cap (no decompression bombs),
 * the entry count must match the header, and nothing may follow the last entry but
 * the trailer (checked after the last entry is yielded: callers undo on a throw).
 */
export function * packEntries (pack: Uint8Array, maxObjectBytes: number): Generator<PackEntry> {
  const buf = Buffer.from(pack.buffer, pack.byteOffset, pack.byteLength)
  const count = buf.readUInt32BE(8)
  const end = buf.length - 20
  let pos = 12
  for (let i = 0; i < count; i++) {
    if (pos >= end) throw new CorruptPackError(`pack announces ${count} objects but holds ${i}`)
    let byte = buf[pos++] as number
    const typeCode = (byte >> 4) & 7
    let size = byte & 15
    let shift = 4
    while ((byte & 0x80) !== 0) {
      if (pos >= end || shift > 35) throw new CorruptPackError('pack entry header is malformed')
      byte = buf[pos++] as number
      size += (byte & 0x7f) * 2 ** shift
      shift += 7
    }
    const type = TYPES[typeCode]
    if (type === undefined) throw new CorruptPackError(typeCode === 6 || typeCode === 7 ? 'pack holds delta objects, which this network does not accept' : `pack entry has unknown type ${typeCode}`)
    if (size > maxObjectBytes) throw new PackTooLargeError(`pack holds a ${type} of ${size} bytes, over the limit of ${maxObjectBytes}`)
    let inflated: { buffer: Buffer, engine: { bytesWritten: number } }
    try {
      inflated = inflateSync(buf.subarray(pos, end), { info: true, maxOutputLength: Math.max(1, size) }) as unknown as typeof inflated
    } catch (err) {
      throw new CorruptPackError(`pack entry ${i} does not inflate to its declared ${size} bytes: ${(err as Error).message}`, { cause: err })
    }
    if (inflated.buffer.length !== size) throw new CorruptPackError(`pack entry ${i} inflates to ${inflated.buffer.length} bytes, not the declared ${size}`)
    const dataOffset = pos
    pos += inflated.engine.bytesWritten
    const oid = createHash('sha1').update(`${type} ${size}\0`).update(inflated.buffer).digest('hex')
    yield { oid, type, size, content: inflated.buffer, dataOffset }
  }
  if (pos !== end) throw new CorruptPackError(`pack has ${end - pos} unexpected bytes after its last object`)
}

/** An entry's content inflated again from the pack (packEntries checked it already). */
export function entryContent (pack: Uint8Array, entry: { size: number, dataOffset: number }): Buffer {
  return inflateSync(Buffer.from(pack.buffer, pack.byteOffset + entry.dataOffset, pack.byteLength - 20 - entry.dataOffset), { maxOutputLength: Math.max(1, entry.size) })
}

/** Every entry's id, type and size, after the same checks (nothing kept in memory). */
export function inspectPack (pack: Uint8Array, maxObjectBytes: number): PackObject[] {
  const objects: PackObject[] = []
  for (const { oid, type, size } of packEntries(pack, maxObjectBytes)) objects.push({ oid, type, size })
  return objects
}

/** Checks the pack's header and its SHA-1 trailer before any object is read from it. */
export function checkPackEnvelope (pack: Uint8Array, maxBytes: number): void {
  if (pack.byteLength > maxBytes) throw new PackTooLargeError(`pack of ${pack.byteLength} bytes exceeds the limit of ${maxBytes}`)
  if (pack.byteLength < 32 || Buffer.from(pack.subarray(0, 4)).toString('latin1') !== 'PACK') {
    throw new CorruptPackError('not a git pack (missing PACK header)')
  }
  const body = pack.subarray(0, pack.byteLength - 20)
  const trailer = Buffer.from(pack.subarray(pack.byteLength - 20)).toString('hex')
  if (createHash('sha1').update(body).digest('hex') !== trailer) throw new CorruptPackError('pack checksum does not match its contents')
}

/** The object count a pack's header announces (checked against what it holds by packEntries). */
export function packObjectCount (pack: Uint8Array): number {
  return Buffer.from(pack.buffer, pack.byteOffset, pack.byteLength).readUInt32BE(8)
}

/** Git modes that a cause tree may hold; symlinks (120000) and submodules (160000) may not. */
export const REGULAR_FILE = '100644'
export const EXECUTABLE_FILE = '100755'
export const DIRECTORY = '040000'

export interface RawTreeEntry { mode: string, name: string, oid: string }

/**
 * Parses a tree object's raw bytes. isomorphic-git's readTree silently keeps the last
 * of duplicate names and throws untyped errors on bad ones; git itself (fsck) refuses
 * both, and so does this: names must be valid and unique and entries in git's order,
 * so one set of files has exactly one tree id (the first-submitter rule relies on it).
 */
export function parseTreeObject (object: Uint8Array, path: string): RawTreeEntry[] {
  const buf = Buffer.from(object.buffer, object.byteOffset, object.byteLength)
  const entries: RawTreeEntry[] = []
  let pos = 0
  while (pos < buf.length) {
    const space = buf.indexOf(0x20, pos)
    const nul = buf.indexOf(0, space + 1)
    if (space < 0 || nul < 0 || nul + 21 > buf.length) throw new ForbiddenEntryError(`tree "${path || '/'}" is malformed`)
    const mode = buf.toString('latin1', pos, space).padStart(6, '0')
    const name = buf.toString('utf8', space + 1, nul)
    entries.push({ mode, name, oid: buf.toString('hex', nul + 1, nul + 21) })
    pos = nul + 21
  }
  const sortKey = (e: RawTreeEntry): string => (e.mode === DIRECTORY ? `${e.name}/` : e.name)
  for (const [i, e] of entries.entries()) {
    const where = path + e.name
    if (e.name === '' || e.name === '.' || e.name === '..' || e.name.includes('/') || e.name.toLowerCase() === '.git') {
      throw new ForbiddenEntryError(`tree entry "${where}" is not a valid file name`)
    }
    const previous = entries[i - 1]
    if (previous !== undefined) {
      if (previous.name === e.name) throw new ForbiddenEntryError(`tree "${path || '/'}" lists "${e.name}" twice`)
      if (Buffer.compare(Buffer.from(sortKey(previous)), Buffer.from(sortKey(e))) >= 0) throw new ForbiddenEntryError(`tree "${path || '/'}" is not in git's canonical order`)
    }
  }
  return entries
}

/** Whether a tree entry is a subtree or a file; anything else (symlink, submodule, odd mode) is refused. */
export function entryKind (entry: RawTreeEntry, path: string): 'tree' | 'blob' {
  if (entry.mode === DIRECTORY) return 'tree'
  if (entry.mode === REGULAR_FILE || entry.mode === EXECUTABLE_FILE) return 'blob'
  const what = entry.mode === '120000' ? 'a symlink' : entry.mode === '160000' ? 'a submodule' : `mode ${entry.mode}`
  throw new ForbiddenEntryError(`"${path}" is ${what}; a cause tree may hold only regular files`)
}

/** A commit object's tree and parents, read from its raw header lines. */
export function parseCommitObject (object: Uint8Array, oid: string): { tree: string, parents: string[] } {
  const header = Buffer.from(object.buffer, object.byteOffset, object.byteLength).toString('utf8').split('\n\n', 1)[0] as string
  let tree: string | undefined
  const parents: string[] = []
  for (const line of header.split('\n')) {
    const [key, value] = [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)]
    if (key !== 'tree' && key !== 'parent') continue
    if (!/^[0-9a-f]{40}$/.test(value)) throw new CorruptPackError(`commit ${oid} has a malformed ${key} line`)
    if (key === 'parent') parents.push(value)
    else if (tree !== undefined) throw new CorruptPackError(`commit ${oid} names two trees`)
    else tree = value
  }
  if (tree === undefined) throw new CorruptPackError(`commit ${oid} names no tree`)
  return { tree, parents }
}
