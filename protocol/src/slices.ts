import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'

/**
 * Files a trial's checkout or copy works on at once: the small trees of a cause in one slice,
 * and few enough handles (a copy holds two) that a process running several trials, or a
 * benchmark's whole network, stays far below the open-file limit.
 */
export const FILES_AT_ONCE = 16

/**
 * `fn` on every item, `size` at a time (one slice after the next), the results in the items'
 * order. For file work: each operation is a trip through libuv's thread pool and back to the
 * event loop, so many of them one after another wait their turn behind everything else a busy
 * process does, where a slice of them waits once; a slice bounds the handles held at once.
 */
export async function inSlices<T, R> (items: readonly T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`slice size must be a positive integer, got ${size}`)
  const out: R[] = []
  for (let i = 0; i < items.length; i += size) out.push(...await Promise.all(items.slice(i, i + size).map(fn)))
  return out
}

/** Makes `root` and the directory of every file path under it, each once, a slice at a time. */
export async function makeParentDirs (root: string, paths: readonly string[]): Promise<void> {
  const dirs = [...new Set([root, ...paths.map((path) => dirname(join(root, path)))])]
  await inSlices(dirs, FILES_AT_ONCE, async (dir) => await mkdir(dir, { recursive: true }))
}
