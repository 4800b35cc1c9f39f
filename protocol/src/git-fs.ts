import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'

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
