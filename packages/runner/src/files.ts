import { createHash } from 'node:crypto'
import * as fs from 'node:fs/promises'
import { join } from 'node:path'
import { isEditable, type Manifest } from '@autoresearch/protocol'
import { TrialError } from './errors.ts'

export interface CauseFile { root: string, path: string, mode: number }

/** Regular files of a cause by relative path; `.git` is skipped, anything but files and directories is refused. */
async function listFiles (root: string, rel = '', into: CauseFile[] = []): Promise<CauseFile[]> {
  const entries = await fs.readdir(join(root, rel), { withFileTypes: true })
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  for (const e of entries) {
    const path = rel === '' ? e.name : `${rel}/${e.name}`
    if (e.isDirectory()) {
      if (rel === '' && e.name === '.git') continue
      await listFiles(root, path, into)
    } else if (e.isFile()) {
      into.push({ root, path, mode: (await fs.lstat(join(root, path))).mode })
    } else {
      throw new TrialError('invalid-cause', `"${path}" is not a regular file or directory`)
    }
  }
  return into
}

async function causeFiles (dir: string): Promise<CauseFile[]> {
  return await listFiles(dir).catch((err: unknown) => {
    if (err instanceof TrialError) throw err
    throw new TrialError('invalid-cause', `cannot read the cause at ${dir}: ${(err as Error).message}`)
  })
}

/**
 * The files a trial runs: every editable file of the candidate (under a directory entry all
 * of them, the ones it added included) and every protected file of `protectedDir` (the best),
 * so that a file the candidate deleted from an editable directory stays deleted.
 */
export async function trialFiles (manifest: Manifest, causeDir: string, protectedDir?: string): Promise<{ protectedFiles: CauseFile[], editableFiles: CauseFile[] }> {
  const candidate = await causeFiles(causeDir)
  const protectedFiles = (protectedDir === undefined ? candidate : await causeFiles(protectedDir)).filter((f) => !isEditable(manifest, f.path))
  return { protectedFiles, editableFiles: candidate.filter((f) => isEditable(manifest, f.path)) }
}

/** Cache key of prepared data: the protected files only, so candidates that change editable files share it. */
export async function protectedHash (files: CauseFile[]): Promise<string> {
  const hash = createHash('sha256')
  for (const f of files) {
    const content = await fs.readFile(join(f.root, f.path))
    hash.update(`${f.path}\0${content.length}\0`).update(content)
  }
  return hash.digest('hex')
}

export async function copyFiles (files: CauseFile[], dest: string): Promise<void> {
  await fs.mkdir(dest, { recursive: true })
  for (const f of files) {
    const target = join(dest, f.path)
    await fs.mkdir(join(target, '..'), { recursive: true })
    await fs.copyFile(join(f.root, f.path), target)
    await fs.chmod(target, (f.mode & 0o111) !== 0 ? 0o755 : 0o644)
  }
}
