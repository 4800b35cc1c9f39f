import * as fs from 'node:fs/promises'
import { join } from 'node:path'

/** Visits every entry below `root` without following symlinks; a vanished entry is skipped (the tree may still be written to). */
export async function walk (root: string, visit: (path: string, stat: import('node:fs').Stats) => Promise<void> | void): Promise<void> {
  let names: string[]
  try {
    names = await fs.readdir(root)
  } catch {
    return
  }
  for (const name of names) {
    const path = join(root, name)
    const stat = await fs.lstat(path).catch(() => undefined)
    if (stat === undefined) continue
    await visit(path, stat)
    if (stat.isDirectory()) await walk(path, visit)
  }
}

/** Bytes on disk and entries below the roots (sparse files count by their blocks, so a hole cannot hide). */
export async function treeUsage (roots: string[]): Promise<{ bytes: number, entries: number }> {
  let bytes = 0
  let entries = 0
  for (const root of roots) {
    await walk(root, (_path, stat) => {
      entries++
      bytes += Math.max(stat.size, stat.blocks * 512)
    })
  }
  return { bytes, entries }
}

/** Hands a tree to another user (lchown: a planted symlink is never followed). */
export async function chownTree (root: string, uid: number, gid: number): Promise<void> {
  await fs.lchown(root, uid, gid)
  await walk(root, async (path) => { await fs.lchown(path, uid, gid).catch(() => {}) })
}

/** Readable by everyone, writable by the owner: what one step leaves, the next (another uid) may read. */
export async function readableTree (root: string, fileMode = 0o644): Promise<void> {
  await fs.chmod(root, 0o755)
  await walk(root, async (path, stat) => {
    if (stat.isDirectory()) await fs.chmod(path, 0o755)
    else if (stat.isFile()) await fs.chmod(path, fileMode)
  })
}

/** rm -rf that also copes with directories a step made unreadable to their owner. */
export async function removeTree (root: string): Promise<void> {
  try {
    await fs.rm(root, { recursive: true, force: true })
  } catch {
    await fs.chmod(root, 0o700).catch(() => {})
    await walk(root, async (path, stat) => { if (stat.isDirectory()) await fs.chmod(path, 0o700).catch(() => {}) })
    await fs.rm(root, { recursive: true, force: true })
  }
}
