import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import { dirname } from 'node:path'
import { inSlices } from './slices.ts'

/** Suffix of files being written; a crash can leave them, `removePartialFiles` removes them. */
export const PARTIAL_SUFFIX = '.partial'

/**
 * Writes under a temporary name, then renames: a kill leaves the whole file or none.
 * With `sync`, the data reaches the disk before the rename (survives a power cut too).
 */
export async function writeFileAtomically (path: string, data: Uint8Array | string, opts: { encoding?: BufferEncoding, mode?: number, sync?: boolean } = {}): Promise<void> {
  const staged = `${path}.${randomBytes(6).toString('hex')}${PARTIAL_SUFFIX}`
  try {
    const handle = await fs.promises.open(staged, 'w', opts.mode)
    try {
      await handle.writeFile(data, { encoding: opts.encoding })
      if (opts.sync === true) await handle.sync()
    } finally {
      await handle.close()
    }
    await fs.promises.rename(staged, path)
  } catch (err) {
    await fs.promises.rm(staged, { force: true })
    throw err
  }
}

/**
 * The file system isomorphic-git is given: node's, except that every file is
 * written under a temporary name and renamed into place. isomorphic-git never
 * rewrites a loose object that exists, so a half-written one (a process killed
 * mid-write) would stay corrupt forever; a rename cannot leave half a file.
 */
export const gitFs = {
  promises: {
    ...fs.promises,
    writeFile: async (path: string, data: Uint8Array | string, options?: BufferEncoding | { encoding?: BufferEncoding, mode?: number }) =>
      writeFileAtomically(path, data, typeof options === 'string' ? { encoding: options } : options ?? {})
  }
}

/** Files staged and flushed at once; more open handles than this at a time would risk EMFILE. */
const BATCH_HANDLES = 256

/**
 * Writes many new files as one batch: each under a temporary name, all flushed together,
 * then renamed into place, then each directory they went into flushed once. A kill leaves
 * whole files or none (plus `.partial` files start-up removes); the flushes reach the disk
 * before the caller records anything that relies on the files. Flushing the batch at once
 * lets the file system commit it in one go (about 0.5 ms a file here against 3.5 ms when
 * each file is written and flushed in turn). `data` may be a function, called when its file
 * is written. On an error, every file of the batch is removed.
 */
export async function writeFilesAtomically (files: Array<{ path: string, data: Uint8Array | (() => Uint8Array) }>): Promise<void> {
  const staged: Array<{ path: string, temp: string }> = []
  const placed: string[] = []
  try {
    await inSlices(files, BATCH_HANDLES, async ({ path, data }) => {
      const temp = `${path}.${randomBytes(6).toString('hex')}${PARTIAL_SUFFIX}`
      staged.push({ path, temp })
      const handle = await fs.promises.open(temp, 'w')
      try {
        // Made only now, so that at most one batch of contents is in memory at a time.
        await handle.writeFile(typeof data === 'function' ? data() : data)
        await handle.sync()
      } finally {
        await handle.close()
      }
    })
    for (const { path, temp } of staged) {
      await fs.promises.rename(temp, path)
      placed.push(path)
    }
    const dirs = [...new Set(staged.map(({ path }) => dirname(path)))]
    await inSlices(dirs, BATCH_HANDLES, async (dir) => {
      const handle = await fs.promises.open(dir, 'r')
      try { await handle.sync() } finally { await handle.close() }
    })
  } catch (err) {
    await Promise.all([...staged.map(({ temp }) => temp), ...placed].map(async (p) => fs.promises.rm(p, { force: true })))
    throw err
  }
}
