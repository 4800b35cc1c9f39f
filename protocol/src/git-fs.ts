import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'

/** Suffix of files being written; a crash can leave them, `removePartialFiles` removes them. */
export const PARTIAL_SUFFIX = '.partial'

async function writeFileAtomically (path: string, data: Uint8Array | string, options?: fs.WriteFileOptions): Promise<void> {
  const staged = `${path}.${randomBytes(6).toString('hex')}${PARTIAL_SUFFIX}`
  try {
    await fs.promises.writeFile(staged, data, options)
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
export const gitFs = { promises: { ...fs.promises, writeFile: writeFileAtomically } }
