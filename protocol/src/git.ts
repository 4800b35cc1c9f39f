import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import { dirname, join } from 'node:path'
import { deflateSync } from 'node:zlib'
import git from 'isomorphic-git'
import { asStorageError, CorruptPackError, ForbiddenEntryError, PackTooLargeError, UnknownCommitError } from './errors.ts'
import { gitFs, PARTIAL_SUFFIX, writeFileAtomically } from './git-fs.ts'
import { packEntries } from './pack-inspect.ts'

/** Git modes that a cause tree may hold; symlinks (120000) and submodules (160000) may not. */
const REGULAR_FILE = '100644'
const EXECUTABLE_FILE = '100755'
const DIRECTORY = '040000'

export interface TreeEntry { path: string, oid: string, mode: string }
export interface ChangedPath { path: string, change: 'added' | 'modified' | 'deleted' | 'mode' }

/** A tree's objects (itself, subtrees, blobs) not in `known`; a subtree in `known` is not opened. */
async function treeObjects (gitdir: string, treeOid: string, into: Set<string>, known: Set<string> = into): Promise<void> {
  if (known.has(treeOid) || into.has(treeOid)) return
  into.add(treeOid)
  const { tree } = await git.readTree({ fs: gitFs, gitdir, oid: treeOid })
  for (const entry of tree) {
    if (entry.type === 'tree') await treeObjects(gitdir, entry.oid, into, known)
    else if (!known.has(entry.oid)) into.add(entry.oid)
  }
}

/** A commit and every tree and blob of its tree (not its history). */
export async function commitClosure (gitdir: string, commit: string): Promise<Set<string>> {
  const into = new Set<string>([commit])
  await treeObjects(gitdir, (await commitTree(gitdir, commit)).tree, into)
  return into
}

export async function hasCommit (gitdir: string, oid: string): Promise<boolean> {
  try {
    await git.readCommit({ fs: gitFs, gitdir, oid })
    return true
  } catch {
    return false
  }
}

/**
 * The objects `want` needs that a peer holding `have` lacks. History is walked back
 * from `want` only until it meets a commit the peer has; what the peer has is taken
 * to be those boundary commits' trees. The cost follows the new commits, not the
 * length of history (a peer with an unrelated old object may get it once more).
 */
export async function objectsMissing (gitdir: string, want: string, have: string[]): Promise<string[]> {
  if (!await hasCommit(gitdir, want)) throw new UnknownCommitError(`commit ${want} is not known here`)
  const haves = new Set(have)
  const newCommits: Array<{ oid: string, tree: string }> = []
  const boundary: string[] = []
  const seen = new Set<string>()
  const queue = [want]
  while (queue.length > 0) {
    const oid = queue.pop() as string
    if (seen.has(oid)) continue
    seen.add(oid)
    if (haves.has(oid) && await hasCommit(gitdir, oid)) {
      boundary.push(oid)
      continue
    }
    const { commit } = await git.readCommit({ fs: gitFs, gitdir, oid })
    newCommits.push({ oid, tree: commit.tree })
    queue.push(...commit.parent)
  }
  const known = new Set<string>(boundary)
  for (const oid of boundary) await treeObjects(gitdir, (await commitTree(gitdir, oid)).tree, known)
  const needed = new Set<string>()
  for (const { oid, tree } of newCommits) {
    needed.add(oid)
    await treeObjects(gitdir, tree, needed, known)
  }
  return [...needed]
}

/** A pack of the given objects (undeltified, as isomorphic-git writes them). */
export async function exportPack (gitdir: string, oids: string[]): Promise<Uint8Array> {
  const { packfile } = await git.packObjects({ fs: gitFs, gitdir, oids, write: false })
  if (packfile === undefined) throw new CorruptPackError('isomorphic-git produced no pack')
  return packfile
}

export function sha256Hex (bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex')
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

export interface ImportedPack {
  /** Number of objects the pack held. */
  objects: number
  /** Their ids, computed from their content while inspecting the pack. */
  oids: string[]
  /** Removes the objects this import added (used when intake rejects what it carried). */
  discard: () => Promise<void>
}

function loosePath (gitdir: string, oid: string): string {
  return join(gitdir, 'objects', oid.slice(0, 2), oid.slice(2))
}

/**
 * Stores a pack's objects in the repository, as loose objects. Every object id is
 * recomputed from its content while the pack is read, so an object whose bytes were
 * altered cannot pass under its original id. Throws CorruptPackError or
 * PackTooLargeError and leaves nothing behind when the pack is bad, StorageFullError
 * when the disk is full.
 *
 * Why loose: isomorphic-git looks an object up in every pack index in turn, so one
 * pack per submission made every read slower as submissions accumulated (82 ms per
 * file read with 400 packs); a loose object is one file. Each is written under a
 * temporary name and renamed, so a kill leaves whole objects or none, and an object
 * left by a crash is harmless (content-addressed, referenced by nothing).
 */
export async function importPack (gitdir: string, pack: Uint8Array, opts: { maxBytes: number, maxObjectBytes?: number }): Promise<ImportedPack> {
  checkPackEnvelope(pack, opts.maxBytes)
  // Text deflates 3–4×; a pack that inflates to far more is a bomb, not a cause.
  const maxInflated = 16 * opts.maxBytes
  const oids: string[] = []
  const added: string[] = []
  const discard = async (): Promise<void> => {
    for (const oid of added) await fs.promises.rm(loosePath(gitdir, oid), { force: true })
  }
  let inflated = 0
  try {
    for (const entry of packEntries(pack, opts.maxObjectBytes ?? opts.maxBytes)) {
      inflated += entry.size
      if (inflated > maxInflated) throw new PackTooLargeError(`pack inflates to more than ${maxInflated} bytes`)
      oids.push(entry.oid)
      const path = loosePath(gitdir, entry.oid)
      if (fs.existsSync(path)) continue
      await fs.promises.mkdir(dirname(path), { recursive: true })
      await writeFileAtomically(path, deflateSync(Buffer.concat([Buffer.from(`${entry.type} ${entry.size}\0`), entry.content])), { sync: true })
      added.push(entry.oid)
    }
  } catch (err) {
    await discard()
    throw asStorageError(err)
  }
  return { objects: oids.length, oids, discard }
}

/** Start-up repair after a crash: removes files left half-written under a temporary name. */
export async function removePartialFiles (gitdir: string): Promise<string[]> {
  const removed: string[] = []
  for (const file of await fs.promises.readdir(gitdir, { recursive: true })) {
    if (!file.endsWith(PARTIAL_SUFFIX)) continue
    await fs.promises.rm(join(gitdir, file), { force: true })
    removed.push(file)
  }
  return removed
}

interface RawEntry { mode: string, name: string, oid: string }

/**
 * Parses a tree object's raw bytes. isomorphic-git's readTree silently keeps the last
 * of duplicate names and throws untyped errors on bad ones; git itself (fsck) refuses
 * both, and so does this: names must be valid and unique and entries in git's order,
 * so one set of files has exactly one tree id (the first-submitter rule relies on it).
 */
async function readRawTree (gitdir: string, oid: string, path: string): Promise<RawEntry[]> {
  let object: Uint8Array
  try {
    const read = await git.readObject({ fs: gitFs, gitdir, oid, format: 'content' })
    if (read.type !== 'tree') throw new ForbiddenEntryError(`"${path || '/'}" is a ${read.type}, not a tree`)
    object = read.object as Uint8Array
  } catch (err) {
    if (err instanceof ForbiddenEntryError) throw err
    throw new CorruptPackError(`tree ${oid} for "${path || '/'}" is missing or unreadable`)
  }
  const buf = Buffer.from(object)
  const entries: RawEntry[] = []
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
  const sortKey = (e: RawEntry): string => (e.mode === DIRECTORY ? `${e.name}/` : e.name)
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

/** All blobs of a tree by path, with their modes; refuses symlinks, submodules and malformed trees. */
export async function flattenTree (gitdir: string, treeOid: string, prefix = '', into = new Map<string, TreeEntry>()): Promise<Map<string, TreeEntry>> {
  for (const entry of await readRawTree(gitdir, treeOid, prefix)) {
    const path = prefix + entry.name
    if (entry.mode === DIRECTORY) {
      await flattenTree(gitdir, entry.oid, `${path}/`, into)
    } else if (entry.mode === REGULAR_FILE || entry.mode === EXECUTABLE_FILE) {
      into.set(path, { path, oid: entry.oid, mode: entry.mode })
    } else {
      const what = entry.mode === '120000' ? 'a symlink' : entry.mode === '160000' ? 'a submodule' : `mode ${entry.mode}`
      throw new ForbiddenEntryError(`"${path}" is ${what}; a cause tree may hold only regular files`)
    }
  }
  return into
}

export async function commitTree (gitdir: string, commitOid: string): Promise<{ tree: string, parents: string[] }> {
  try {
    const { commit } = await git.readCommit({ fs: gitFs, gitdir, oid: commitOid })
    return { tree: commit.tree, parents: commit.parent }
  } catch {
    throw new UnknownCommitError(`commit ${commitOid} is not in the repository`)
  }
}

/** Paths whose content or mode differ between two commits. */
export async function changedPaths (gitdir: string, fromCommit: string, toCommit: string): Promise<ChangedPath[]> {
  const from = await flattenTree(gitdir, (await commitTree(gitdir, fromCommit)).tree)
  const to = await flattenTree(gitdir, (await commitTree(gitdir, toCommit)).tree)
  const changes: ChangedPath[] = []
  for (const [path, entry] of to) {
    const before = from.get(path)
    if (before === undefined) changes.push({ path, change: 'added' })
    else if (before.oid !== entry.oid) changes.push({ path, change: 'modified' })
    else if (before.mode !== entry.mode) changes.push({ path, change: 'mode' })
  }
  for (const path of from.keys()) if (!to.has(path)) changes.push({ path, change: 'deleted' })
  return changes.sort((a, b) => a.path.localeCompare(b.path))
}

/** Reads every blob of a commit's tree once, proving the pack left none missing, and checks file sizes. */
export async function assertCompleteTree (gitdir: string, commitOid: string, maxFileBytes: number): Promise<Map<string, TreeEntry>> {
  const files = await flattenTree(gitdir, (await commitTree(gitdir, commitOid)).tree)
  for (const entry of files.values()) {
    let blob: Uint8Array
    try {
      ({ blob } = await git.readBlob({ fs: gitFs, gitdir, oid: entry.oid }))
    } catch {
      throw new CorruptPackError(`object ${entry.oid} for "${entry.path}" is missing`)
    }
    if (blob.byteLength > maxFileBytes) throw new PackTooLargeError(`"${entry.path}" is ${blob.byteLength} bytes, over the cause's limit of ${maxFileBytes}`)
  }
  return files
}

/** Writes a commit's files into `dir` (which need not be a git work tree). */
export async function writeTreeTo (gitdir: string, commitOid: string, dir: string): Promise<void> {
  const files = await flattenTree(gitdir, (await commitTree(gitdir, commitOid)).tree)
  for (const entry of files.values()) {
    const { blob } = await git.readBlob({ fs: gitFs, gitdir, oid: entry.oid })
    const target = join(dir, entry.path)
    await fs.promises.mkdir(join(target, '..'), { recursive: true })
    await fs.promises.writeFile(target, blob, { mode: entry.mode === EXECUTABLE_FILE ? 0o755 : 0o644 })
  }
}

/** Reads one file of a commit as text, or undefined if it has no such file. */
export async function readFileAt (gitdir: string, commitOid: string, path: string): Promise<string | undefined> {
  try {
    const { blob } = await git.readBlob({ fs: gitFs, gitdir, oid: commitOid, filepath: path })
    return new TextDecoder().decode(blob)
  } catch {
    return undefined
  }
}

const AUTHOR = { name: 'autoresearch', email: 'agent@autoresearch.invalid', timezoneOffset: 0 }

/**
 * A new commit on `parent` whose files are the parent's with `changes` applied
 * (a string replaces or adds a file, null deletes it). Nested paths are supported.
 */
export async function commitWithChanges (gitdir: string, parent: string, changes: Record<string, string | null>, message: string, authorName = AUTHOR.name): Promise<string> {
  const files = await flattenTree(gitdir, (await commitTree(gitdir, parent)).tree)
  const entries = new Map<string, { oid: string, mode: string }>([...files].map(([p, e]) => [p, { oid: e.oid, mode: e.mode }]))
  for (const [path, content] of Object.entries(changes)) {
    if (content === null) entries.delete(path)
    else entries.set(path, { oid: await git.writeBlob({ fs: gitFs, gitdir, blob: new TextEncoder().encode(content) }), mode: entries.get(path)?.mode ?? REGULAR_FILE })
  }
  return commitTreeOn(gitdir, await writeNestedTree(gitdir, entries), parent, message, authorName)
}

/** A commit with `tree` on `parent` (used to squash a local chain into one candidate). */
export async function commitTreeOn (gitdir: string, tree: string, parent: string, message: string, authorName = AUTHOR.name): Promise<string> {
  const author = { ...AUTHOR, name: authorName, timestamp: Math.floor(Date.now() / 1000) }
  return git.writeCommit({ fs: gitFs, gitdir, commit: { tree, parent: [parent], author, committer: author, message: message.endsWith('\n') ? message : message + '\n' } })
}

/** Writes nested trees for a flat path -> blob map and returns the root tree id. */
export async function writeNestedTree (gitdir: string, entries: Map<string, { oid: string, mode: string }>): Promise<string> {
  const children = new Map<string, Map<string, { oid: string, mode: string }>>()
  const here: Array<{ mode: string, path: string, oid: string, type: 'blob' | 'tree' }> = []
  for (const [path, entry] of entries) {
    const slash = path.indexOf('/')
    if (slash < 0) { here.push({ mode: entry.mode, path, oid: entry.oid, type: 'blob' }); continue }
    const dir = path.slice(0, slash)
    const sub = children.get(dir) ?? new Map()
    sub.set(path.slice(slash + 1), entry)
    children.set(dir, sub)
  }
  for (const [dir, sub] of children) here.push({ mode: DIRECTORY, path: dir, oid: await writeNestedTree(gitdir, sub), type: 'tree' })
  return git.writeTree({ fs: gitFs, gitdir, tree: here })
}

/** Makes `gitdir` a bare repository if it is not one yet. */
export async function ensureBareRepo (gitdir: string): Promise<void> {
  if (fs.existsSync(join(gitdir, 'HEAD'))) return
  await fs.promises.mkdir(gitdir, { recursive: true })
  await git.init({ fs: gitFs, dir: gitdir, gitdir, bare: true, defaultBranch: 'best' })
}

/**
 * Three-way merge of `commit` onto `onto` (isomorphic-git's line merge), without
 * moving any ref: the merged tree, or the conflicting paths.
 */
export async function mergeTrees (gitdir: string, commit: string, onto: string): Promise<{ tree: string } | { conflicts: string[] }> {
  const branch = `merge-${commit.slice(0, 12)}-${onto.slice(0, 12)}-${process.pid}`
  const ref = `refs/heads/${branch}`
  await git.writeRef({ fs: gitFs, gitdir, ref, value: onto, force: true })
  try {
    const author = { ...AUTHOR, timestamp: Math.floor(Date.now() / 1000) }
    const result = await git.merge({ fs: gitFs, gitdir, ours: branch, theirs: commit, fastForward: false, noUpdateBranch: true, abortOnConflict: true, author, committer: author, message: 'merge' })
    return { tree: result.tree ?? (await commitTree(gitdir, result.oid as string)).tree }
  } catch (err) {
    const data = (err as { code?: string, data?: { filepaths?: string[] } })
    if (data.code === 'MergeConflictError') return { conflicts: data.data?.filepaths ?? [] }
    throw err
  } finally {
    await git.deleteRef({ fs: gitFs, gitdir, ref }).catch(() => {})
  }
}
