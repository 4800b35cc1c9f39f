import { createHash } from 'node:crypto'
import * as fs from 'node:fs/promises'
import { join } from 'node:path'
import { FILES_AT_ONCE, inSlices, isEditable, makeParentDirs, type Manifest } from '@autoresearch/protocol'
import { TrialError } from './errors.ts'

export interface CauseFile { root: string, path: string, mode: number }

/** Regular files of a cause by relative path, in name order; `.git` is skipped, anything but files and directories is refused. */
async function listFiles (root: string, rel = ''): Promise<CauseFile[]> {
  const entries = await fs.readdir(join(root, rel), { withFileTypes: true })
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const lists = await inSlices(entries, FILES_AT_ONCE, async (e): Promise<CauseFile[]> => {
    const path = rel === '' ? e.name : `${rel}/${e.name}`
    if (e.isDirectory()) return rel === '' && e.name === '.git' ? [] : await listFiles(root, path)
    if (e.isFile()) return [{ root, path, mode: (await fs.lstat(join(root, path))).mode }]
    throw new TrialError('invalid-cause', `"${path}" is not a regular file or directory`)
  })
  return lists.flat()
}

async function causeFiles (dir: string): Promise<CauseFile[]> {
  return await listFiles(dir).catch((err: unknown) => {
    if (err instanceof TrialError) throw err
    throw new TrialError('invalid-cause', `cannot read the cause at ${dir}: ${(err as Error).message}`)
  })
}

/**
 * The files a trial runs: every editable file of the candidate (under a directory entry all
 * of them, the ones it added included) and every protected file of the best (the candidate's
 * own when no best is given), so that a file the candidate deleted from an editable directory
 * stays deleted and a protected file it changed is never run.
 */
export function splitTrialFiles<F extends { path: string }> (manifest: Manifest, candidate: F[], best?: F[]): { protectedFiles: F[], editableFiles: F[] } {
  return { protectedFiles: (best ?? candidate).filter((f) => !isEditable(manifest, f.path)), editableFiles: candidate.filter((f) => isEditable(manifest, f.path)) }
}

/** The files a trial runs (`splitTrialFiles`) of the candidate in `causeDir` and the best in `protectedDir`. */
export async function trialFiles (manifest: Manifest, causeDir: string, protectedDir?: string): Promise<{ protectedFiles: CauseFile[], editableFiles: CauseFile[] }> {
  return splitTrialFiles(manifest, await causeFiles(causeDir), protectedDir === undefined ? undefined : await causeFiles(protectedDir))
}

/** Cache key of prepared data: the protected files only, so candidates that change editable files share it. */
export async function protectedHash (files: CauseFile[]): Promise<string> {
  const hash = createHash('sha256')
  // A slice read at once and hashed in order: the key is the one a file at a time gave.
  for (let i = 0; i < files.length; i += FILES_AT_ONCE) {
    const read = await Promise.all(files.slice(i, i + FILES_AT_ONCE).map(async (f) => ({ f, content: await fs.readFile(join(f.root, f.path)) })))
    for (const { f, content } of read) hash.update(`${f.path}\0${content.length}\0`).update(content)
  }
  return hash.digest('hex')
}

export async function copyFiles (files: CauseFile[], dest: string): Promise<void> {
  await makeParentDirs(dest, files.map((f) => f.path))
  await inSlices(files, FILES_AT_ONCE, async (f) => {
    const target = join(dest, f.path)
    await fs.copyFile(join(f.root, f.path), target)
    await fs.chmod(target, (f.mode & 0o111) !== 0 ? 0o755 : 0o644)
  })
}
