import { execFile } from 'node:child_process'
import * as fs from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import git from 'isomorphic-git'
import {
  commitTree, ensureBareRepo, exportPack, fetchRules, flattenTree, gitFs, importPack, InvalidManifestError, MANIFEST_FILE, objectsMissing, parseManifestText, readFileAt, UsageError, type Manifest
} from '@autoresearch/protocol'
import { assertCauseFiles, BEST_REF, HomeExistsError, homePaths, recordHome, type HomePaths } from './home.ts'

const run = promisify(execFile)

/** The git binary is not installed; importing a repository's history needs it. */
export class GitUnavailableError extends UsageError { override name = 'GitUnavailableError' }
/** git could not fetch the repository (a wrong path or URL, no access). */
export class GitImportError extends UsageError { override name = 'GitImportError' }

/** A repository named by URL (or scp-like user@host:path) rather than by a local path. */
export const isGitUrl = (source: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(source) || /^[^/\s]+@[^/\s:]+:/.test(source)

/** Whether `--from` names a git repository (a URL, a work tree with .git, a bare repository) rather than a plain directory. */
export function isGitSource (from: string): boolean {
  if (isGitUrl(from)) return true
  return fs.existsSync(join(from, '.git')) || (fs.existsSync(join(from, 'HEAD')) && fs.existsSync(join(from, 'objects')))
}

async function gitCommand (args: string[], options: { signal?: AbortSignal } = {}): Promise<string> {
  try {
    return (await run('git', args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, signal: options.signal })).stdout
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string }
    if (e.code === 'ENOENT') throw new GitUnavailableError('importing a git repository needs the git binary on PATH (Debian/Ubuntu: apt-get install git)')
    throw new GitImportError(`git ${args.filter((a) => !a.startsWith('--git-dir')).join(' ')} failed: ${(e.stderr ?? e.message).trim()}`)
  }
}

/**
 * Checks the commit as a worker's fetch will: every commit of its history, every tree
 * entry a regular file or a directory, every file within the cause's maxFileBytes, the
 * whole within a fetch's limits (protocol's fetchRules). A repository that passes `init`
 * but that no worker could fetch would be a cause nobody can join.
 */
async function assertFetchable (gitdir: string, commit: string, manifest: Manifest): Promise<void> {
  const scratch = fs.mkdtempSync(join(tmpdir(), 'ar-import-'))
  try {
    await ensureBareRepo(scratch)
    await importPack(scratch, await exportPack(gitdir, await objectsMissing(gitdir, commit, [])), commit, fetchRules(manifest.limits))
  } catch (err) {
    if (err instanceof UsageError) throw err
    throw new InvalidManifestError(`workers could not fetch this history: ${(err as Error).message}; import it without history instead (init --from a directory, or a shallow clone: git clone --depth 1)`)
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true })
  }
}

/**
 * Makes a coordinator home from a git repository, keeping its history: the best is the
 * repository's HEAD commit itself, so its parents are the original commits and `git log`
 * on the cause tells the whole story. HEAD is checked as `init` checks a directory.
 */
export async function initHomeFromGit (home: string, source: string, options: { signal?: AbortSignal } = {}): Promise<{ paths: HomePaths, manifest: Manifest, causeId: string, commit: string, notes: string[] }> {
  const paths = homePaths(home)
  if (fs.existsSync(paths.config)) throw new HomeExistsError(`${home} is already a coordinator home (found ${paths.config})`)
  const notes: string[] = []
  if (fs.existsSync(join(source, '.git')) && (await gitCommand(['-C', source, 'status', '--porcelain', '--untracked-files=no'], options)).trim() !== '') {
    notes.push(`${source} has uncommitted changes; only its HEAD commit was imported`)
  }
  const created = !fs.existsSync(home)
  fs.mkdirSync(home, { recursive: true, mode: 0o700 })
  const { gitdir } = paths
  try {
    await git.init({ fs: gitFs, dir: gitdir, gitdir, bare: true, defaultBranch: 'best' })
    await gitCommand([`--git-dir=${gitdir}`, 'fetch', '--quiet', '--no-tags', '--', source, 'HEAD'], options)
    const commit = (await gitCommand([`--git-dir=${gitdir}`, 'rev-parse', '--verify', 'FETCH_HEAD^{commit}'], options)).trim()
    fs.rmSync(join(gitdir, 'FETCH_HEAD'), { force: true })
    const text = await readFileAt(gitdir, commit, MANIFEST_FILE)
    if (text === undefined) throw new InvalidManifestError(`${source} has no ${MANIFEST_FILE} in its HEAD commit ${commit.slice(0, 12)}`)
    const manifest = parseManifestText(text)
    const where = `${source} at ${commit.slice(0, 12)}`
    let files: string[]
    try {
      files = [...(await flattenTree(gitdir, (await commitTree(gitdir, commit)).tree)).keys()]
    } catch (err) {
      throw new InvalidManifestError(`${where}: ${(err as Error).message}`)
    }
    assertCauseFiles(manifest, files, where)
    await assertFetchable(gitdir, commit, manifest)
    await git.writeRef({ fs: gitFs, gitdir, ref: BEST_REF, value: commit, force: true })
    return { paths, manifest, commit, causeId: recordHome(paths, manifest, commit), notes }
  } catch (err) {
    // Nothing of a failed import stays: the next `init` starts clean.
    fs.rmSync(created ? home : gitdir, { recursive: true, force: true })
    throw err
  }
}
