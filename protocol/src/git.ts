import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import { join } from 'node:path'
import git, { type MergeDriverCallback } from 'isomorphic-git'
import diff3Merge from 'diff3'
import { logger } from '@libp2p/logger'
import { CorruptPackError, ForbiddenEntryError, PackTooLargeError, UnknownCommitError } from './errors.ts'
import { gitFs, PARTIAL_SUFFIX } from './git-fs.ts'
import { FILES_AT_ONCE, inSlices, makeParentDirs } from './slices.ts'
import { DIRECTORY, entryKind, EXECUTABLE_FILE, parseTreeObject, REGULAR_FILE, type RawTreeEntry } from './pack-inspect.ts'

const log = logger('autoresearch:protocol:git')

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

export async function hasCommit (gitdir: string, oid: string): Promise<boolean> {
  try {
    await git.readCommit({ fs: gitFs, gitdir, oid })
    return true
  } catch (err) {
    log.trace('no commit %s here: %e', oid, err)
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

/** A tree's entries, checked (see parseTreeObject); a missing or unreadable tree is a CorruptPackError. */
async function readRawTree (gitdir: string, oid: string, path: string): Promise<RawTreeEntry[]> {
  let object: Uint8Array
  try {
    const read = await git.readObject({ fs: gitFs, gitdir, oid, format: 'content' })
    if (read.type !== 'tree') throw new ForbiddenEntryError(`"${path || '/'}" is a ${read.type}, not a tree`)
    object = read.object as Uint8Array
  } catch (err) {
    if (err instanceof ForbiddenEntryError) throw err
    throw new CorruptPackError(`tree ${oid} for "${path || '/'}" is missing or unreadable`, { cause: err })
  }
  return parseTreeObject(object, path)
}

/** All blobs of a tree by path, with their modes; refuses symlinks, submodules and malformed trees. */
export async function flattenTree (gitdir: string, treeOid: string, prefix = '', into = new Map<string, TreeEntry>()): Promise<Map<string, TreeEntry>> {
  for (const entry of await readRawTree(gitdir, treeOid, prefix)) {
    const path = prefix + entry.name
    if (entryKind(entry, path) === 'tree') await flattenTree(gitdir, entry.oid, `${path}/`, into)
    else into.set(path, { path, oid: entry.oid, mode: entry.mode })
  }
  return into
}

export async function commitTree (gitdir: string, commitOid: string): Promise<{ tree: string, parents: string[] }> {
  try {
    const { commit } = await git.readCommit({ fs: gitFs, gitdir, oid: commitOid })
    return { tree: commit.tree, parents: commit.parent }
  } catch (err) {
    throw new UnknownCommitError(`commit ${commitOid} is not in the repository`, { cause: err })
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
    } catch (err) {
      throw new CorruptPackError(`object ${entry.oid} for "${entry.path}" is missing`, { cause: err })
    }
    if (blob.byteLength > maxFileBytes) throw new PackTooLargeError(`"${entry.path}" is ${blob.byteLength} bytes, over the cause's limit of ${maxFileBytes}`)
  }
  return files
}

/** A commit's files by path; refuses symlinks, submodules and malformed trees as `flattenTree` does. */
export async function commitFiles (gitdir: string, commitOid: string): Promise<Map<string, TreeEntry>> {
  return await flattenTree(gitdir, (await commitTree(gitdir, commitOid)).tree)
}

/** Writes these blobs of `gitdir` into `dir` at their paths (which need not be a git work tree). */
export async function writeFilesTo (gitdir: string, files: readonly TreeEntry[], dir: string): Promise<void> {
  // A slice of files at a time: on a busy worker each file read or written in turn would
  // wait behind everything else the process does.
  await makeParentDirs(dir, files.map((entry) => entry.path))
  await inSlices(files, FILES_AT_ONCE, async (entry) => {
    const { blob } = await git.readBlob({ fs: gitFs, gitdir, oid: entry.oid })
    await fs.promises.writeFile(join(dir, entry.path), blob, { mode: entry.mode === EXECUTABLE_FILE ? 0o755 : 0o644 })
  })
}

/** Writes a commit's files into `dir` (which need not be a git work tree). */
export async function writeTreeTo (gitdir: string, commitOid: string, dir: string): Promise<void> {
  await writeFilesTo(gitdir, [...(await commitFiles(gitdir, commitOid)).values()], dir)
}

/** Reads one file of a commit as text, or undefined if it has no such file. */
export async function readFileAt (gitdir: string, commitOid: string, path: string): Promise<string | undefined> {
  try {
    const { blob } = await git.readBlob({ fs: gitFs, gitdir, oid: commitOid, filepath: path })
    return new TextDecoder().decode(blob)
  } catch (err) {
    log.trace('no %s in %s: %e', path, commitOid, err)
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
 *
 * With `base`, only the change from `base` to `commit` is carried, like a cherry-pick.
 * isomorphic-git takes the merge base from history, and when `onto` is older than
 * `base` (the operator reverted the merge `base` holds) that base is `onto` itself: the
 * reverted change would ride back in. A throwaway commit with `onto`'s tree on top of
 * both `onto` and `base` makes `base` the nearest common ancestor.
 *
 * `favor: 'commit'` settles each conflicting hunk of a text file with `commit`'s lines
 * (favorCommitLines) and names those files in `favored`; what isomorphic-git cannot merge
 * line by line (a file deleted on one side, a binary file) still conflicts.
 */
export async function mergeTrees (gitdir: string, commit: string, onto: string, options: { base?: string, favor?: 'commit' } = {}): Promise<{ tree: string, favored?: string[] } | { conflicts: string[] }> {
  const branch = `merge-${commit.slice(0, 12)}-${onto.slice(0, 12)}-${process.pid}`
  const ref = `refs/heads/${branch}`
  const { base } = options
  const author = { ...AUTHOR, timestamp: Math.floor(Date.now() / 1000) }
  const head = base === undefined || base === onto
    ? onto
    : await git.writeCommit({ fs: gitFs, gitdir, commit: { tree: (await commitTree(gitdir, onto)).tree, parent: [onto, base], author, committer: author, message: 'merge base\n' } })
  await git.writeRef({ fs: gitFs, gitdir, ref, value: head, force: true })
  try {
    const favored: string[] = []
    const mergeDriver = options.favor === 'commit' ? favorCommitLines(favored) : undefined
    const result = await git.merge({ fs: gitFs, gitdir, ours: branch, theirs: commit, fastForward: false, noUpdateBranch: true, abortOnConflict: true, author, committer: author, message: 'merge', ...(mergeDriver === undefined ? {} : { mergeDriver }) })
    const tree = result.tree ?? (await commitTree(gitdir, result.oid as string)).tree
    return options.favor === undefined ? { tree } : { tree, favored }
  } catch (err) {
    const data = (err as { code?: string, data?: { filepaths?: string[] } })
    if (data.code === 'MergeConflictError') return { conflicts: data.data?.filepaths ?? [] }
    throw err
  } finally {
    // A leftover scratch ref is overwritten (force) by the next merge.
    await git.deleteRef({ fs: gitFs, gitdir, ref }).catch((err) => { log('could not delete %s: %e', ref, err) })
  }
}

/**
 * isomorphic-git's line merge (the same diff3 it merges with), but a hunk both sides changed
 * takes the lines of the commit being carried (`theirs` in its terms) instead of conflicting;
 * the paths where that happened are pushed to `favored`.
 */
function favorCommitLines (favored: string[]): MergeDriverCallback {
  return ({ contents, path }) => {
    const lines = (text: string): string[] => text.match(LINES) ?? []
    const [base = '', ours = '', theirs = ''] = contents
    let mergedText = ''
    let conflicted = false
    for (const item of diff3Merge(lines(ours), lines(base), lines(theirs))) {
      if (item.ok !== undefined) mergedText += item.ok.join('')
      if (item.conflict !== undefined) {
        conflicted = true
        mergedText += item.conflict.b.join('')
      }
    }
    if (!conflicted) return { cleanMerge: true, mergedText }
    // isomorphic-git hands every file over as UTF-8 text: a conflict in one that is not text stays a conflict.
    if (contents.some((text) => BINARY.test(text))) return { cleanMerge: false, mergedText: ours }
    favored.push(path)
    return { cleanMerge: true, mergedText }
  }
}

/** A NUL, or bytes that were not UTF-8 (decoded to U+FFFD). */
const BINARY = /[\u0000\uFFFD]/

/** Lines with their ends, as isomorphic-git splits a file for its merge. */
const LINES = /^.*(\r?\n|$)/gm
