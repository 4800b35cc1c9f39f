import * as fs from 'node:fs/promises'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import { TrialError } from './errors.ts'
import { copyFiles, protectedHash, type CauseFile } from './files.ts'
import { runStep, stepEnv, stepLimits } from './step.ts'
import { readableTree, removeTree } from './tree.ts'
import type { SandboxBackend, SandboxLimits, TrialOptions } from './types.ts'

const log = logger('autoresearch:runner:prepare')

/** In-process dedupe of concurrent prepares; across processes the atomic rename below keeps the cache sound. */
const preparing = new Map<string, Promise<void>>()

async function prepareData (opts: TrialOptions, backend: SandboxBackend, limits: SandboxLimits, files: CauseFile[], dataDir: string): Promise<void> {
  const step = opts.manifest.prepare
  if (step === undefined) {
    await fs.mkdir(dataDir, { recursive: true })
    return
  }
  if (await exists(dataDir)) return
  await fs.mkdir(opts.dataRoot, { recursive: true })
  const work = await fs.mkdtemp(join(opts.dataRoot, `.${opts.manifest.name}-prepare-`))
  try {
    const [cause, data, out, tmp] = ['cause', 'data', 'out', 'tmp'].map((d) => join(work, d)) as [string, string, string, string]
    await copyFiles(files, cause)
    for (const dir of [data, out, tmp]) await fs.mkdir(dir)
    const logs: string[] = []
    // Seed 0: prepared data are shared by every seed, so they must not depend on one.
    // Prepare is the cause's own frozen code and may write large data: no file-size or disk cap.
    await runStep(backend, 'prepare', {
      command: step.command,
      cwd: cause,
      env: stepEnv(0, data, out, cause),
      timeoutMs: step.timeoutSeconds * 1000,
      writable: [cause, data, out],
      readOnly: [],
      tmpDir: tmp,
      network: step.network,
      limits: stepLimits(limits, step.timeoutSeconds, false),
      maxOutputBytes: limits.outputBytes,
      signal: opts.signal,
      onLine: (line) => opts.onLine?.('prepare', line)
    }, 0, logs).catch((err: unknown) => {
      if (err instanceof TrialError) throw new TrialError(err.reason, err.message, logs.join(''))
      throw err
    })
    // Guards the shared cache against accidental writes (directories stay writable so the cache can be deleted).
    await readableTree(data, 0o444)
    try {
      await fs.rename(data, dataDir)
    } catch (err) {
      // Another process finished the same prepare first; its data are equivalent.
      if (!await exists(dataDir)) throw err
      log('prepared data for %s were already there: %e', dataDir, err)
    }
  } finally {
    await removeTree(work)
  }
}

/**
 * The prepared data of these protected files, prepared once per machine: the directory is
 * keyed by the protected files' hash, so candidates that change only editable files share it.
 * Prepare's failure is the trial's, with prepare's log added to `logs`.
 */
export async function preparedData (opts: TrialOptions, backend: SandboxBackend, limits: SandboxLimits, protectedFiles: CauseFile[], logs: string[]): Promise<string> {
  const dataDir = join(opts.dataRoot, `${opts.manifest.name}-${await protectedHash(protectedFiles)}`)
  let pending = preparing.get(dataDir)
  if (pending === undefined) {
    pending = prepareData(opts, backend, limits, protectedFiles, dataDir).finally(() => preparing.delete(dataDir))
    preparing.set(dataDir, pending)
  }
  await pending.catch((err: unknown) => {
    if (err instanceof TrialError) {
      if (err.log !== '') logs.push(err.log)
      throw err
    }
    throw new TrialError('prepare-failed', `prepare could not run: ${(err as Error).message}`)
  })
  return dataDir
}

export async function exists (path: string): Promise<boolean> {
  return fs.access(path).then(() => true, () => false)
}
