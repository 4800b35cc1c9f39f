import git from 'isomorphic-git'
import { commitWithChanges, gitFs, MANIFEST_FILE, parseManifestText, readFileAt, UsageError } from '@autoresearch/protocol'
import { BEST_REF, type HomePaths } from './home.ts'
import type { MergeRow, Store } from './store/index.ts'

/** The largest program.md the `info` reply carries (protocol's InfoReply.program). */
export const MAX_PROGRAM_BYTES = 256 * 1024

/** The new program.md is the one the best already has. */
export class ProgramUnchangedError extends UsageError { override name = 'ProgramUnchangedError' }
/** The new program.md is empty, not text, or larger than a worker takes. */
export class InvalidProgramError extends UsageError { override name = 'InvalidProgramError' }
/** The best kept moving (merges landing) while the update was written; it was not applied. */
export class BestMovingError extends UsageError { override name = 'BestMovingError' }

/** Why `text` cannot be a cause's program, or undefined when it can. */
export function programProblem (bytes: Uint8Array): string | undefined {
  if (bytes.length === 0) return 'the new program is empty'
  if (bytes.length > MAX_PROGRAM_BYTES) return `the new program is ${bytes.length} bytes; workers take at most ${MAX_PROGRAM_BYTES}`
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return 'the new program is not UTF-8 text'
  }
  return undefined
}

/** The merge row that records a program update on `best` (same code, so the best's verified metric stands). */
export function programRow (best: MergeRow, commit: string, at: number): Omit<MergeRow, 'seq' | 'index' | 'reverted_at'> {
  return { commit_oid: commit, parent_oid: best.commit_oid, candidate_seq: null, metric: best.metric, baseline_metric: null, merged_at: at, kind: 'program' }
}

/**
 * Replaces the cause's program (program.md, or the file the manifest names) with a host
 * commit on top of the best: history is kept (`git log` shows it), the best moves to it and
 * a running `serve` announces it (kind `program`) within 2 s, as after a revert; queued
 * candidates are carried onto it like after a merge. Works with or without `serve` running.
 */
export async function updateProgram (paths: HomePaths, store: Pick<Store, 'lastMerge' | 'transaction' | 'insertMerge'>, bytes: Uint8Array, note?: string): Promise<{ commit: string, parent: string, seq: number, path: string }> {
  const problem = programProblem(bytes)
  if (problem !== undefined) throw new InvalidProgramError(problem)
  const text = new TextDecoder().decode(bytes)
  // A merge may land while the commit is written; then write it again on the new best.
  for (let attempt = 0; attempt < 3; attempt++) {
    const best = store.lastMerge() as MergeRow
    const manifest = parseManifestText(await readFileAt(paths.gitdir, best.commit_oid, MANIFEST_FILE) ?? '')
    if (await readFileAt(paths.gitdir, best.commit_oid, manifest.program) === text) throw new ProgramUnchangedError(`the best (${best.commit_oid.slice(0, 12)}) already has this ${manifest.program}`)
    const message = `program: update ${manifest.program}${note === undefined ? '' : `\n\n${note}`}`
    const commit = await commitWithChanges(paths.gitdir, best.commit_oid, { [manifest.program]: text }, message, 'autoresearch-coordinator')
    const seq = store.transaction(() => store.lastMerge()?.commit_oid === best.commit_oid ? store.insertMerge(programRow(best, commit, Date.now())) : undefined)
    if (seq === undefined) continue
    await git.writeRef({ fs: gitFs, gitdir: paths.gitdir, ref: BEST_REF, value: commit, force: true })
    return { commit, parent: best.commit_oid, seq, path: manifest.program }
  }
  throw new BestMovingError('the best moved three times while the update was written; run the command again')
}
