import { createHash } from 'node:crypto'
import { inflateSync } from 'node:zlib'
import { CorruptPackError, PackTooLargeError } from './errors.ts'

const TYPES: Record<number, string> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' }

export interface PackObject { oid: string, type: string, size: number }
export interface PackEntry extends PackObject { content: Buffer }

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
      throw new CorruptPackError(`pack entry ${i} does not inflate to its declared ${size} bytes: ${(err as Error).message}`)
    }
    if (inflated.buffer.length !== size) throw new CorruptPackError(`pack entry ${i} inflates to ${inflated.buffer.length} bytes, not the declared ${size}`)
    pos += inflated.engine.bytesWritten
    const oid = createHash('sha1').update(`${type} ${size}\0`).update(inflated.buffer).digest('hex')
    yield { oid, type, size, content: inflated.buffer }
  }
  if (pos !== end) throw new CorruptPackError(`pack has ${end - pos} unexpected bytes after its last object`)
}

/** Every entry's id, type and size, after the same checks (nothing kept in memory). */
export function inspectPack (pack: Uint8Array, maxObjectBytes: number): PackObject[] {
  const objects: PackObject[] = []
  for (const { oid, type, size } of packEntries(pack, maxObjectBytes)) objects.push({ oid, type, size })
  return objects
}
