import { logger } from '@libp2p/logger'
import { changedPaths, commitTree, flattenTree, readFileAt } from '@autoresearch/protocol'
import { lineDiff, type LineDiff } from '@autoresearch/protocol'

const log = logger('autoresearch:coordinator:site')

export interface FileDiff { path: string, change: string, binary: boolean, unavailable: boolean, diff: LineDiff | null }

const MAX_DIFFS = 200

/** A file's text as the site shows it: null for a binary file, cut at a bound (`truncated`). */
export interface FileText { binary: boolean, chars: number, truncated: boolean, text: string | null }

/** Reads a commit's changes and files from the coordinator's repository; diffs are kept, as commits never change. */
export class CommitFiles {
  readonly #gitdir: string
  readonly #diffs = new Map<string, FileDiff[]>()

  constructor (gitdir: string) {
    this.#gitdir = gitdir
  }

  /** Every file `commit` changed against `parent`, with a bounded line diff of each text file. */
  async diff (parent: string, commit: string): Promise<FileDiff[]> {
    const key = `${parent}..${commit}`
    const hit = this.#diffs.get(key)
    if (hit !== undefined) return hit
    const files = await this.#read(parent, commit)
    if (this.#diffs.size >= MAX_DIFFS) {
      const oldest = this.#diffs.keys().next()
      if (oldest.done !== true) this.#diffs.delete(oldest.value)
    }
    this.#diffs.set(key, files)
    return files
  }

  async #read (parent: string, commit: string): Promise<FileDiff[]> {
    const gitdir = this.#gitdir
    try {
      const files: FileDiff[] = []
      for (const { path, change } of await changedPaths(gitdir, parent, commit)) {
        const before = change === 'added' ? '' : await readFileAt(gitdir, parent, path)
        const after = change === 'deleted' ? '' : await readFileAt(gitdir, commit, path)
        const binary = (before ?? '').includes('\u0000') || (after ?? '').includes('\u0000')
        const unavailable = before === undefined || after === undefined
        files.push({ path, change, binary, unavailable, diff: binary || unavailable ? null : lineDiff(before, after) })
      }
      return files
    } catch (err) {
      // The page says the objects are missing rather than failing.
      log.error('could not diff %s..%s: %e', parent, commit, err)
      return [{ path: '(all files)', change: 'modified', binary: false, unavailable: true, diff: null }]
    }
  }

  /** One file of `commit` as text, cut at `maxChars`; undefined when the commit has no such file (or it cannot be read). */
  async text (commit: string, path: string, maxChars: number): Promise<FileText | undefined> {
    const text = await readFileAt(this.#gitdir, commit, path)
    if (text === undefined) return undefined
    if (text.includes('\u0000')) return { binary: true, chars: text.length, truncated: false, text: null }
    return { binary: false, chars: text.length, truncated: text.length > maxChars, text: text.slice(0, maxChars) }
  }

  /** The paths in `commit`'s tree, sorted; none when its objects cannot be read. */
  async paths (commit: string): Promise<string[]> {
    try {
      return [...(await flattenTree(this.#gitdir, (await commitTree(this.#gitdir, commit)).tree)).keys()].sort()
    } catch (err) {
      log.error('could not list the files of %s: %e', commit, err)
      return []
    }
  }
}
