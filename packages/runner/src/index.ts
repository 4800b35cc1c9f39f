import * as fs from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { commitFiles, sha256Hex, UnknownCommitError, writeFilesTo, type TreeEntry } from '@autoresearch/protocol'
import { splitTrialFiles } from './files.ts'
import { runTrial } from './trial.ts'
import { removeOwnTree } from './tree.ts'
import type { TrialOptions, TrialResult } from './types.ts'

export type { SandboxBackend, SandboxLimits, StepLimits, StepSpec, StepOutcome, TrialFailure, TrialResult, TrialOptions } from './types.ts'
export { runTrial, metricSource, defaultLimits, PASSED_ENV } from './trial.ts'
export { TrialError, SandboxSetupError, TreeToolError, SpawnerError } from './errors.ts'
export { stopped } from './stopped.ts'
export { WORK_BUDGET_EXIT_CODE, HELD_OUT_ENV } from './train-rules.ts'
export { noneBackend, type NoneBackendOptions } from './backends/none.ts'
export { bwrapBackend, bwrapArgs, bwrapHelpers, gpuDevices, type BwrapContext, type BwrapHelpers, type BwrapOptions } from './backends/bwrap.ts'
export { seccompFilter } from './backends/seccomp.ts'
export { BLOCKED_RANGES, blockRoutes, networkHelpers } from './backends/network.ts'
export { containerBackend, containerArgs, type ContainerContext, type ContainerEngine } from './backends/container.ts'
export { useSpawner, stopSpawner, activeSpawner, Spawner } from './spawner/client.ts'
export { selectBackend, probeBwrap, SandboxUnavailableError, SANDBOX_KINDS, type SandboxKind, type SelectBackendOptions } from './select.ts'

export type RunCommitOptions = Omit<TrialOptions, 'causeDir' | 'protectedDir'> & {
  /** A git directory (bare or `.git`) holding `commit` (and `protectedFrom.commit` when it is the same repository). */
  gitdir: string
  commit: string
  /** The revision whose protected files prepare, train and evaluate use, normally the current best. Default: `commit` itself. */
  protectedFrom?: { gitdir: string, commit: string }
}

/**
 * Checks out what one trial of a commit runs (its editable files, and the protected files of
 * `protectedFrom` or its own) into a temporary directory and runs the trial on it. A tree the
 * runner may not check out (symlinks, submodules) is an `invalid-cause`; an unknown commit is
 * the caller's mistake and throws UnknownCommitError.
 */
export async function runCommit (opts: RunCommitOptions): Promise<TrialResult> {
  const started = Date.now()
  const scratchRoot = opts.scratchRoot ?? tmpdir()
  await fs.mkdir(scratchRoot, { recursive: true })
  const refused = (commit: string, err: unknown): TrialResult => {
    if (err instanceof UnknownCommitError) throw err
    const message = `cannot check out ${commit}: ${(err as Error).message}`
    return { ok: false, reason: 'invalid-cause', message, logDigest: sha256Hex(message), logTail: message, durationMs: Date.now() - started }
  }
  // The same commit of the same repository is the same tree: its own protected files.
  const same = opts.protectedFrom?.gitdir === opts.gitdir && opts.protectedFrom.commit === opts.commit
  const other = same ? undefined : opts.protectedFrom
  let candidate: TreeEntry[]
  let best: TreeEntry[] | undefined
  try { candidate = [...(await commitFiles(opts.gitdir, opts.commit)).values()] } catch (err) { return refused(opts.commit, err) }
  if (other !== undefined) {
    try { best = [...(await commitFiles(other.gitdir, other.commit)).values()] } catch (err) { return refused(other.commit, err) }
  }
  const { protectedFiles, editableFiles } = splitTrialFiles(opts.manifest, candidate, best)
  // One checkout of just the files the trial runs, where it took the candidate's whole tree and
  // the best's: half the files written, and the trial lists one directory.
  const dir = await fs.mkdtemp(join(scratchRoot, 'autoresearch-checkout-'))
  try {
    const write = async (source: { gitdir: string, commit: string }, files: TreeEntry[]): Promise<TrialResult | undefined> =>
      await writeFilesTo(source.gitdir, files, dir).then(() => undefined, (err: unknown) => refused(source.commit, err))
    const failed = (await Promise.all([write(opts, editableFiles), write(other ?? opts, protectedFiles)])).find((r) => r !== undefined)
    if (failed !== undefined) return failed
    const { gitdir: _g, commit: _c, protectedFrom: _p, ...rest } = opts
    return await runTrial({ ...rest, causeDir: dir, scratchRoot })
  } finally {
    await removeOwnTree(dir)
  }
}
