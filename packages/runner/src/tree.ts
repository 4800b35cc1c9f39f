import { spawn } from 'node:child_process'
import * as fs from 'node:fs/promises'
import { join } from 'node:path'
import { TreeToolError } from './errors.ts'
import { kill } from './signal.ts'
import { activeSpawner } from './spawner/client.ts'
import type { ToolResult } from './spawner/messages.ts'

/**
 * Whole-tree operations on directories a step wrote. A step can nest directories past
 * PATH_MAX with relative mkdir/chdir, where any walk that builds path strings (Node's
 * fs.rm, readdir + join) fails or skips: these run coreutils, whose fts walks by file
 * descriptor at any depth, and never follow symlinks.
 */

const TOOL_MS = 10 * 60_000
const TOOL_OUTPUT = 64 * 1024

/** Runs a coreutils command with a time cap and capped output, from the spawner process when this process uses one; never rejects. */
async function tool (argv: string[], timeoutMs = TOOL_MS): Promise<ToolResult> {
  return await (activeSpawner()?.tool(argv, timeoutMs) ?? toolHere(argv, timeoutMs))
}

/** tool, spawned from this process. */
export async function toolHere (argv: string[], timeoutMs: number): Promise<ToolResult> {
  return await new Promise((resolve) => {
    const [file, ...args] = argv as [string, ...string[]]
    const child = spawn(file, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => { if (stdout.length < TOOL_OUTPUT) stdout += c.toString('utf8') })
    child.stderr.on('data', (c: Buffer) => { if (stderr.length < TOOL_OUTPUT) stderr += c.toString('utf8') })
    // The whole group: what a shell or find started holds the pipes open too.
    const timer = setTimeout(() => { if (child.pid !== undefined) kill(-child.pid, 'SIGKILL') }, timeoutMs)
    child.once('error', (err) => { clearTimeout(timer); resolve({ ok: false, stdout, stderr: err.message }) })
    child.once('close', (code) => { clearTimeout(timer); resolve({ ok: code === 0, stdout, stderr }) })
  })
}

const total = (stdout: string): number => stdout.split('\n').reduce((sum, line) => sum + (Number(line.split('\t')[0]) || 0), 0)

/** du's three measures in one process (a spawn from the runner costs more than du itself), apart by lines `=` (du's own lines start with a number). */
const USAGE = 'du -s -B1 --apparent-size -- "$@"; echo =; du -s -B1 -- "$@"; echo =; du -s --inodes -- "$@"'

interface TreeUsage { bytes: number, entries: number }

/** du's output as bytes (sparse files count by their apparent size, so a hole cannot hide) and entries below the roots. */
function usageOf (stdout: string, roots: number): TreeUsage {
  // du reports what it could read even when part of a tree is unreadable.
  const [apparent = '', blocks = '', inodes = ''] = `\n${stdout}`.split('\n=\n')
  return { bytes: Math.max(total(apparent), total(blocks)), entries: Math.max(0, total(inodes) - roots) }
}

/** Bytes on disk and entries below the roots. */
export async function treeUsage (roots: string[]): Promise<TreeUsage> {
  if (roots.length === 0) return { bytes: 0, entries: 0 }
  return usageOf((await tool(['sh', '-c', USAGE, 'sh', ...roots])).stdout, roots.length)
}

/** What readableTree gives every directory and (with fileMode 0o644) every file. */
const READABLE = 'u=rwX,go=rX'

/**
 * treeUsage, then readableTree with files 0o644, in one process (each spawn blocks the
 * runner): a step's output measured and handed to the next step. `unreadable` says why
 * the tree could not be made readable.
 */
export async function measureAndShare (root: string): Promise<TreeUsage & { unreadable?: string }> {
  const r = await tool(['sh', '-c', `${USAGE}; chmod -R ${READABLE} -- "$@"`, 'sh', root])
  const usage = usageOf(r.stdout, 1)
  return r.ok ? usage : { ...usage, unreadable: `cannot make ${root} readable: ${r.stderr.trim().split('\n').at(-1) ?? ''}` }
}

/** Hands trees to another user (symlinks themselves, never what they point to), all in one run. Best effort: entries it cannot change stay as they are. */
export async function chownTree (roots: string[], uid: number, gid: number): Promise<void> {
  if (roots.length === 0) return
  await tool(['chown', '-R', '-P', '-h', `${uid}:${gid}`, '--', ...roots])
}

/** Entries a walk by path strings visits before it leaves the tree to coreutils. */
const OWN_WALK_ENTRIES = 10_000

/**
 * Visits every entry of trees the runner wrote itself (checkouts, copies, empty dirs), by
 * path strings: their depth is what the runner could write the same way. Every fork of the
 * runner blocks its event loop until the child has exec'd (docs/benchmarks.md, Where the
 * time goes), and a trial needs several of these, so they run in-process. Throws on any
 * error or a tree past OWN_WALK_ENTRIES; the caller then runs the coreutils form.
 */
async function walkOwn (roots: string[], visit: (path: string) => Promise<void>): Promise<void> {
  const stack = [...roots]
  for (let seen = 0; stack.length > 0; seen++) {
    if (seen > OWN_WALK_ENTRIES) throw new TreeToolError('more entries than an in-process walk takes')
    const path = stack.pop() as string
    const stat = await fs.lstat(path)
    await visit(path)
    if (stat.isDirectory()) for (const name of await fs.readdir(path)) stack.push(join(path, name))
  }
}

/** chownTree for trees the runner wrote itself (walkOwn), with chown(1) where the walk fails. */
export async function chownOwnTree (roots: string[], uid: number, gid: number): Promise<void> {
  try {
    await walkOwn(roots, async (path) => { await fs.lchown(path, uid, gid) })
  } catch {
    await chownTree(roots, uid, gid)
  }
}

/** removeTree for a tree the runner wrote itself and no step has run in, with rm(1) where fs.rm fails. */
export async function removeOwnTree (root: string): Promise<string | undefined> {
  try {
    await fs.rm(root, { recursive: true, force: true })
    return undefined
  } catch {
    return await removeTree(root)
  }
}

/** Readable by everyone, writable by the owner (files `fileMode`): what one step leaves, the next (another uid) may read. */
export async function readableTree (root: string, fileMode = 0o644): Promise<void> {
  const r = await tool(['chmod', '-R', READABLE, '--', root])
  if (!r.ok) throw new TreeToolError(`cannot make ${root} readable: ${r.stderr.trim().split('\n')[0] ?? ''}`)
  // -execdir runs in each file's own directory, so depth does not matter.
  if ((fileMode & 0o200) === 0) await tool(['find', root, '-type', 'f', '-execdir', 'chmod', 'a-w', '{}', '+'])
}

/**
 * rm -rf that copes with any depth and with directories a step made unreadable to their
 * owner. Never throws: a tree that cannot be removed is reported, and the caller goes on.
 */
export async function removeTree (root: string): Promise<string | undefined> {
  let r = await tool(['rm', '-rf', '--', root])
  if (r.ok) return undefined
  await tool(['chmod', '-R', 'u+rwx', '--', root])
  r = await tool(['rm', '-rf', '--', root])
  return r.ok ? undefined : `could not remove ${root}: ${r.stderr.trim().split('\n')[0] ?? ''}`
}
