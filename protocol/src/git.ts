import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import { join } from 'node:path'
import git from 'isomorphic-git'
import { asStorageError, CorruptPackError, ForbiddenEntryError, PackTooLargeError, UnknownCommitError } from './errors.ts'
import { gitFs, PARTIAL_SUFFIX } from './git-fs.ts'
import { inspectPack } from './pack-inspect.ts'

/** Git modes that a cause tree may hold; symlinks (120000) and submodules (160000) may not. */
const REGULAR_FILE = '100644'
const EXECUTABLE_FILE = '100755'
const DIRECTORY = '040000'

export interface TreeEntry { path: string, oid: string, mode: string }
export interface ChangedPath { path: string, change: 'added' | 'modified' | 'deleted' | 'mode' }

/** Every object reachable from `commits` (commits, trees, blobs), walking history. */
async function reachableObjects (gitdir: string, commits: string[], into: Set<string>): Promise<void> {
  const queue = [...commits]
  while (queue.length > 0) {
    const oid = queue.pop() as string
    if (into.has(oid)) continue
    const { commit } = await git.readCommit({ fs: gitFs, gitdir, oid })
    into.add(oid)
    await treeObjects(gitdir, commit.tree, into)
    queue.push(...commit.parent)
  }
}

async function treeObjects (gitdir: string, treeOid: string, into: Set<string>): Promise<void> {
  if (into.has(treeOid)) return
  into.add(treeOid)
  const { tree } = await git.readTree({ fs: gitFs, gitdir, oid: treeOid })
  for (const entry of tree) {
    if (entry.type === 'tree') await treeObjects(gitdir, entry.oid, into)
    else into.add(entry.oid)
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
 * The objects `want` needs that a peer holding `have` lacks: everything reachable
 * from `want` minus everything reachable from the `have` commits this repo knows.
 */
export async function objectsMissing (gitdir: string, want: string, have: string[]): Promise<string[]> {
  if (!await hasCommit(gitdir, want)) throw new UnknownCommitError(`commit ${want} is not known here`)
  const known = new Set<string>()
  const haves: string[] = []
  for (const oid of have) if (await hasCommit(gitdir, oid)) haves.push(oid)
  await reachableObjects(gitdir, haves, known)
  const needed = new Set<string>(known)
  await reachableObjects(gitdir, [want], needed)
  return [...needed].filter((oid) => !known.has(oid))
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
  /** Removes the pack again (used when intake rejects what it carried). */
  discard: () => Promise<void>
}

/** Where packs are written and indexed before they are moved into objects/pack. */
const INCOMING = 'incoming'

async function writeDurably (path: string, bytes: Uint8Array): Promise<void> {
  const handle = await fs.promises.open(path, 'w')
  try {
    await handle.writeFile(bytes)
    await handle.sync()
  } finally {
    await handle.close()
  }
}

async function syncFile (path: string): Promise<void> {
  const handle = await fs.promises.open(path, 'r')
  try { await handle.sync() } finally { await handle.close() }
}

/**
 * Writes a pack into the repository and indexes it; indexing recomputes every
 * object id from its content, so an object whose bytes were altered cannot pass
 * under its original id. Throws CorruptPackError and leaves nothing behind when
 * the pack does not index, StorageFullError when the disk is full.
 *
 * Crash safety: the pack is written and indexed under `incoming/`, synced, and
 * only then renamed into objects/pack (the .idx last, because readers look for
 * .idx files). A kill at any point leaves either no pack or a complete one;
 * `cleanIncoming` removes what a crash left half-written.
 */
export async function importPack (gitdir: string, pack: Uint8Array, opts: { maxBytes: number, maxObjectBytes?: number }): Promise<ImportedPack> {
  checkPackEnvelope(pack, opts.maxBytes)
  const inspected = inspectPack(pack, opts.maxObjectBytes ?? opts.maxBytes)
  const name = `pack-${createHash('sha1').update(pack).digest('hex')}`
  const packDir = join(gitdir, 'objects', 'pack')
  const packPath = join(packDir, `${name}.pack`)
  const idxPath = join(packDir, `${name}.idx`)
  const discard = async (): Promise<void> => {
    await fs.promises.rm(idxPath, { force: true })
    await fs.promises.rm(packPath, { force: true })
  }
  if (fs.existsSync(idxPath)) {
    // The very same pack is already indexed here: nothing new to store.
    return { objects: 0, oids: inspected.map((o) => o.oid), discard: async () => {} }
  }
  const incoming = join(gitdir, INCOMING)
  const stagedPack = join(incoming, `${name}.pack`)
  const stagedIdx = join(incoming, `${name}.idx`)
  const unstage = async (): Promise<void> => {
    await fs.promises.rm(stagedIdx, { force: true })
    await fs.promises.rm(stagedPack, { force: true })
  }
  let oids: string[]
  try {
    await fs.promises.mkdir(incoming, { recursive: true })
    await fs.promises.mkdir(packDir, { recursive: true })
    await writeDurably(stagedPack, pack)
    try {
      oids = (await git.indexPack({ fs: gitFs, dir: incoming, gitdir, filepath: `${name}.pack` })).oids
    } catch (err) {
      const storage = asStorageError(err)
      throw storage !== err ? storage : new CorruptPackError(`pack does not index: ${(err as Error).message}`)
    }
    await syncFile(stagedIdx)
    await fs.promises.rename(stagedPack, packPath)
    await fs.promises.rename(stagedIdx, idxPath)
  } catch (err) {
    await unstage()
    await discard()
    throw asStorageError(err)
  }
  return { objects: oids.length, oids, discard }
}

/**
 * Start-up repair after a crash: removes packs still being staged, files left
 * half-written under a temporary name (see gitFs), and any pack in objects/pack
 * without its index (nothing can read it, nothing refers to it).
 */
export async function cleanIncoming (gitdir: string): Promise<string[]> {
  const removed: string[] = []
  const incoming = join(gitdir, INCOMING)
  for (const file of fs.existsSync(incoming) ? await fs.promises.readdir(incoming) : []) {
    await fs.promises.rm(join(incoming, file), { force: true, recursive: true })
    removed.push(join(INCOMING, file))
  }
  for (const file of await fs.promises.readdir(gitdir, { recursive: true })) {
    if (file.endsWith(PARTIAL_SUFFIX)) {
      await fs.promises.rm(join(gitdir, file), { force: true })
      removed.push(file)
    }
  }
  const packDir = join(gitdir, 'objects', 'pack')
  for (const file of fs.existsSync(packDir) ? await fs.promises.readdir(packDir) : []) {
    if (file.endsWith('.pack') && !fs.existsSync(join(packDir, file.replace(/\.pack$/, '.idx')))) {
      await fs.promises.rm(join(packDir, file), { force: true })
      removed.push(join('objects', 'pack', file))
    }
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
  const tree = await writeNestedTree(gitdir, entries)
  const author = { ...AUTHOR, name: authorName, timestamp: Math.floor(Date.now() / 1000) }
  return git.writeCommit({ fs: gitFs, gitdir, commit: { tree, parent: [parent], author, committer: author, message: message.endsWith('\n') ? message : message + '\n' } })
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
