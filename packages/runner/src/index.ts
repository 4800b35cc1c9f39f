import * as fs from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sha256Hex, UnknownCommitError, writeTreeTo, type Manifest } from '@autoresearch/protocol'
import { runTrial } from './trial.ts'
import type { SandboxBackend, TrialOptions, TrialResult } from './types.ts'

export type { SandboxBackend, StepSpec, StepOutcome, TrialFailure, TrialResult, TrialOptions } from './types.ts'
export { runTrial } from './trial.ts'
export { noneBackend } from './backends/none.ts'

export type RunCommitOptions = Omit<TrialOptions, 'causeDir'> & {
  /** A git directory (bare or `.git`) holding `commit`. */
  gitdir: string
  commit: string
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
  const dir = await fs.mkdtemp(join(scratchRoot, 'autoresearch-checkout-'))
  try {
    try {
      await writeTreeTo(opts.gitdir, opts.commit, dir)
    } catch (err) {
      if (err instanceof UnknownCommitError) throw err
      const message = `cannot check out ${opts.commit}: ${(err as Error).message}`
      return { ok: false, reason: 'invalid-cause', message, logDigest: sha256Hex(message), logTail: message, durationMs: Date.now() - started }
    }
    const { manifest, seed, dataRoot, backend, signal, onLine } = opts
    return await runTrial({ causeDir: dir, manifest, seed, dataRoot, scratchRoot, backend, signal, onLine })
  } finally {
    await fs.rm(dir, { recursive: true, force: true })
  }
}
