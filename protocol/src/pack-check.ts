import * as fs from 'node:fs'
import { join } from 'node:path'
import { deflateSync } from 'node:zlib'
import git from 'isomorphic-git'
import { asStorageError, CorruptPackError, ForbiddenEntryError, PackTooLargeError, TooManyObjectsError, UnknownCommitError } from './errors.ts'
import { MAX_PACK_FRAME_BYTES } from './framing.ts'
import { gitFs, writeFilesAtomically } from './git-fs.ts'
import { isEditableDirectory } from './editable.ts'
import type { Manifest } from './manifest.ts'
import { checkPackEnvelope, entryContent, entryKind, packEntries, packObjectCount, parseCommitObject, parseTreeObject, type PackObject } from './pack-inspect.ts'

/** An object of a checked pack; its content is inflated again when needed, so memory stays about the pack's size. */
export interface CheckedObject extends PackObject { content: () => Buffer }

/**
 * What a received pack may hold. The same rules guard the coordinator's intake and a
 * volunteer's fetch ("one rule, one place"): a pack is parsed and checked in memory,
 * and nothing is written unless every object it holds is one its commit uses.
 */
export interface PackRules {
  /** Bytes of the whole pack. */
  maxBytes: number
  /** Bytes of any one object once inflated (the cause's maxFileBytes). */
  maxObjectBytes: number
  /** Objects the pack's header may announce; checked before anything is inflated. */
  maxObjects: number
  /** Whether the commit's ancestors may ride along (a fetch brings history, a submission only its own commit). */
  history: boolean
}

/** Objects a fetch may bring: a cause with ten thousand merges of a few files each stays well under it. */
export const MAX_FETCH_OBJECTS = 100_000
/** The least objects a submission may carry, so a small wrong candidate gets its precise refusal (a protected path, say). */
export const MIN_SUBMISSION_OBJECTS = 64
/** Text deflates 3–4×; a pack that inflates to far more than this times its size is a bomb, not a cause. */
const MAX_INFLATION = 16

/** Objects a directory entry (`src/`) may bring: several hundred changed files with the trees that hold them. */
export const DIRECTORY_OBJECTS = 1024
/** The smallest object a pack can hold: a one-byte header and an empty zlib stream. */
const MIN_PACKED_OBJECT_BYTES = 9

/**
 * A candidate changes only editable paths, so its pack holds one commit and, per editable
 * file, one blob and the trees on its way (one per path segment); the cap allows four
 * times that, and at least MIN_SUBMISSION_OBJECTS. Which files a directory entry holds is
 * not known before the pack is read, so each adds its trees and DIRECTORY_OBJECTS, never
 * more than maxPackBytes can hold. A bound on work, checked from the pack's header, while
 * the closure check refuses any object the candidate does not use.
 */
export function submissionRules (manifest: Manifest): PackRules {
  const segments = (entry: string): number => entry.replace(/\/$/, '').split('/').length
  const files = manifest.editable.filter((e) => !isEditableDirectory(e))
  const dirs = manifest.editable.filter(isEditableDirectory)
  const exact = 1 + files.reduce((n, path) => n + segments(path) + 1, 0)
  const fit = Math.floor(manifest.limits.maxPackBytes / MIN_PACKED_OBJECT_BYTES)
  const directories = Math.min(fit, dirs.reduce((n, dir) => n + segments(dir) + DIRECTORY_OBJECTS, 0))
  return { maxBytes: manifest.limits.maxPackBytes, maxObjectBytes: manifest.limits.maxFileBytes, maxObjects: Math.max(MIN_SUBMISSION_OBJECTS, 4 * exact + directories), history: false }
}

/** What a volunteer accepts from a coordinator's fetch reply; `limits` are the cause's (from its info reply). */
export function fetchRules (limits: Manifest['limits'] | undefined, maxBytes = MAX_PACK_FRAME_BYTES): PackRules {
  return { maxBytes, maxObjectBytes: limits?.maxFileBytes ?? 1024 * 1024, maxObjects: MAX_FETCH_OBJECTS, history: true }
}

export interface CheckedPack {
  /** The commit's tree and parents, from the pack or the repository. */
  tree: string
  parents: string[]
  /** Every object the pack held, by id (recomputed from its content). */
  oids: string[]
  /** The objects the repository does not have yet: what storing the pack writes. */
  missing: CheckedObject[]
}

function loosePath (gitdir: string, oid: string): string {
  return join(gitdir, 'objects', oid.slice(0, 2), oid.slice(2))
}

/**
 * Parses `pack` in memory and proves it holds exactly objects that `commit` uses (its
 * tree, and with `history` its ancestors and theirs) and that nothing the commit needs
 * is missing from both the pack and the repository. Throws PackTooLargeError,
 * TooManyObjectsError, CorruptPackError, ForbiddenEntryError or UnknownCommitError,
 * and writes nothing either way.
 */
export async function checkPack (gitdir: string, pack: Uint8Array, commit: string, rules: PackRules): Promise<CheckedPack> {
  checkPackEnvelope(pack, rules.maxBytes)
  const count = packObjectCount(pack)
  if (count > rules.maxObjects) throw new TooManyObjectsError(`the pack announces ${count} objects; at most ${rules.maxObjects} are accepted here`)
  const inPack = new Map<string, CheckedObject>()
  let inflated = 0
  for (const { oid, type, size, dataOffset } of packEntries(pack, rules.maxObjectBytes)) {
    inflated += size
    if (inflated > MAX_INFLATION * rules.maxBytes) throw new PackTooLargeError(`pack inflates to more than ${MAX_INFLATION * rules.maxBytes} bytes`)
    if (inPack.has(oid)) throw new CorruptPackError(`the pack holds object ${oid} twice`)
    inPack.set(oid, { oid, type, size, content: () => entryContent(pack, { size, dataOffset }) })
  }

  const cache = {}
  const local = new Map<string, string | undefined>()
  const localType = async (oid: string): Promise<string | undefined> => {
    if (!local.has(oid)) local.set(oid, await git.readObject({ fs: gitFs, gitdir, oid, format: 'content', cache }).then((o) => o.type, () => undefined))
    return local.get(oid)
  }
  const used = new Set<string>()
  /** The pack's object `oid` if it has it (and it is of `type`); undefined if the repository must have it. */
  const take = async (oid: string, type: string, what: string): Promise<CheckedObject | undefined> => {
    const entry = inPack.get(oid)
    const found = entry?.type ?? await localType(oid)
    if (oid === commit && found !== 'commit') throw new UnknownCommitError(`commit ${oid} is neither in the pack nor in the repository`)
    if (found === undefined) throw new CorruptPackError(`object ${oid} for ${what} is missing`)
    if (found !== type) throw new ForbiddenEntryError(`${what} is a ${found}, not a ${type}`)
    if (entry !== undefined) used.add(oid)
    return entry
  }
  const walkTree = async (oid: string, path: string): Promise<void> => {
    if (used.has(oid)) return
    const entry = await take(oid, 'tree', `"${path || '/'}"`)
    if (entry === undefined) return // in the repository: checked when it was stored
    for (const e of parseTreeObject(entry.content(), path)) {
      const where = path + e.name
      if (entryKind(e, where) === 'tree') await walkTree(e.oid, `${where}/`)
      else if (!used.has(e.oid)) await take(e.oid, 'blob', `"${where}"`)
    }
  }

  let root: { tree: string, parents: string[] } | undefined
  const commits = [commit]
  while (commits.length > 0) {
    const oid = commits.pop() as string
    if (used.has(oid)) continue
    const entry = await take(oid, 'commit', `the parent ${oid}`)
    if (entry === undefined) {
      // The repository has it, and so everything it reaches.
      if (oid === commit) {
        const { commit: c } = await git.readCommit({ fs: gitFs, gitdir, oid, cache })
        root = { tree: c.tree, parents: c.parent }
      }
      continue
    }
    const parsed = parseCommitObject(entry.content(), oid)
    if (oid === commit) root = parsed
    await walkTree(parsed.tree, '')
    if (rules.history) commits.push(...parsed.parents)
  }
  const unused = inPack.size - used.size
  if (unused > 0) throw new TooManyObjectsError(`the pack carries ${unused} object(s) that commit ${commit} does not use`)
  const missing: CheckedObject[] = []
  for (const entry of inPack.values()) if (await localType(entry.oid) === undefined) missing.push(entry)
  return { ...(root as { tree: string, parents: string[] }), oids: [...inPack.keys()], missing }
}

export interface StoredObjects {
  /** Ids of the objects this call wrote. */
  added: string[]
  /** Removes them again (intake, when a later check refuses the candidate). */
  discard: () => Promise<void>
}

/**
 * Writes checked objects as loose objects, in one batch flushed once (see
 * writeFilesAtomically). Why loose: isomorphic-git looks an object up in every pack
 * index in turn, so one pack per submission made every read slower as submissions
 * accumulated (82 ms per file read with 400 packs); a loose object is one file.
 */
export async function storeObjects (gitdir: string, objects: CheckedObject[]): Promise<StoredObjects> {
  const added = objects.map((o) => o.oid)
  try {
    await Promise.all([...new Set(added.map((oid) => oid.slice(0, 2)))].map(async (dir) => fs.promises.mkdir(join(gitdir, 'objects', dir), { recursive: true })))
    await writeFilesAtomically(objects.map((o) => ({ path: loosePath(gitdir, o.oid), data: () => deflateSync(Buffer.concat([Buffer.from(`${o.type} ${o.size}\0`), o.content()])) })))
  } catch (err) {
    throw asStorageError(err)
  }
  return { added, discard: async () => { for (const oid of added) await fs.promises.rm(loosePath(gitdir, oid), { force: true }) } }
}

/** Checks a pack against `rules` for `commit` and stores what the repository lacks. */
export async function importPack (gitdir: string, pack: Uint8Array, commit: string, rules: PackRules): Promise<CheckedPack & StoredObjects> {
  const checked = await checkPack(gitdir, pack, commit, rules)
  return { ...checked, ...await storeObjects(gitdir, checked.missing) }
}
