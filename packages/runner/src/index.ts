import * as fs from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sha256Hex, UnknownCommitError, writeTreeTo } from '@autoresearch/protocol'
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
 * Checks a commit's tree out into a temporary directory and runs one trial on it.
 * A tree the runner may not check out (symlinks, submodules) is an `invalid-cause`;
 * an unknown commit is the caller's mistake and throws UnknownCommitError.
 */
export async function runCommit (opts: RunCommitOptions): Promise<TrialResult> {
  const started = Date.now()
  const scratchRoot = opts.scratchRoot ?? tmpdir()
  await fs.mkdir(scratchRoot, { recursive: true })
  const dirs: string[] = []
  const checkout = async (gitdir: string, commit: string): Promise<string | TrialResult> => {
    const dir = await fs.mkdtemp(join(scratchRoot, 'autoresearch-checkout-'))
    dirs.push(dir)
    try {
      await writeTreeTo(gitdir, commit, dir)
      return dir
    } catch (err) {
      if (err instanceof UnknownCommitError) throw err
      const message = `cannot check out ${commit}: ${(err as Error).message}`
      return { ok: false, reason: 'invalid-cause', message, logDigest: sha256Hex(message), logTail: message, durationMs: Date.now() - started }
    }
  }
  try {
    const causeDir = await checkout(opts.gitdir, opts.commit)
    if (typeof causeDir !== 'string') return causeDir
    let protectedDir: string | undefined
    // The same commit of the same repository is the same tree: one checkout serves both.
    const same = opts.protectedFrom?.gitdir === opts.gitdir && opts.protectedFrom.commit === opts.commit
    if (opts.protectedFrom !== undefined && !same) {
      const dir = await checkout(opts.protectedFrom.gitdir, opts.protectedFrom.commit)
      if (typeof dir !== 'string') return dir
      protectedDir = dir
    }
    const { gitdir: _g, commit: _c, protectedFrom: _p, ...rest } = opts
    return await runTrial({ ...rest, causeDir, protectedDir, scratchRoot })
  } finally {
    for (const dir of dirs) await removeOwnTree(dir)
  }
}
