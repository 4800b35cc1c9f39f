import * as fs from 'node:fs/promises'
import { basename, join } from 'node:path'
import { logger } from '@libp2p/logger'
import { TrialError } from './errors.ts'
import { copyFiles, protectedHash, type CauseFile } from './files.ts'
import { runStep, stepEnv, stepLimits } from './step.ts'
import { HELD_OUT_ENV } from './train-rules.ts'
import { readableTree, removeTree } from './tree.ts'
import type { SandboxBackend, SandboxLimits, TrialOptions } from './types.ts'

const log = logger('autoresearch:runner:prepare')

/** In-process dedupe of concurrent prepares; across processes the atomic rename below keeps the cache sound. */
const preparing = new Map<string, Promise<void>>()

/** Prepared data, and the held-out data beside them when the cause declares `prepare.heldOut`. */
export interface Prepared {
  data: string
  heldOut?: string
}

async function prepareData (opts: TrialOptions, backend: SandboxBackend, limits: SandboxLimits, files: CauseFile[], { data: dataDir, heldOut: heldOutDir }: Prepared): Promise<void> {
  const step = opts.manifest.prepare
  if (step === undefined) {
    await fs.mkdir(dataDir, { recursive: true })
    return
  }
  // The held-out directory is renamed into place first: the data's presence says both are there.
  if (await exists(dataDir)) return
  await fs.mkdir(opts.dataRoot, { recursive: true })
  const work = await fs.mkdtemp(join(opts.dataRoot, `.${opts.manifest.name}-prepare-`))
  try {
    const [cause, data, heldOut, out, tmp] = ['cause', 'data', 'heldout', 'out', 'tmp'].map((d) => join(work, d)) as [string, string, string, string, string]
    await copyFiles(files, cause)
    for (const dir of [data, heldOut, out, tmp]) await fs.mkdir(dir)
    const logs: string[] = []
    // Seed 0: prepared data are shared by every seed, so they must not depend on one.
    // Prepare is the cause's own frozen code and may write large data: no file-size or disk cap.
    await runStep(backend, 'prepare', {
      command: step.command,
      cwd: cause,
      env: stepEnv(0, data, out, cause, heldOutDir === undefined ? {} : { [HELD_OUT_ENV]: heldOut }),
      timeoutMs: step.timeoutSeconds * 1000,
      writable: [cause, data, ...(heldOutDir === undefined ? [] : [heldOut]), out],
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
    if (heldOutDir !== undefined) {
      await readableTree(heldOut, 0o444)
      await renameInto(heldOut, heldOutDir)
    }
    await renameInto(data, dataDir)
  } finally {
    await removeTree(work)
  }
}

async function renameInto (from: string, to: string): Promise<void> {
  try {
    await fs.rename(from, to)
  } catch (err) {
    // Another process finished the same prepare first; its data are equivalent.
    if (!await exists(to)) throw err
    log('prepared data for %s were already there: %e', to, err)
  }
}

/**
 * The prepared data of these protected files, prepared once per machine: the directory is
 * keyed by the protected files' hash, so candidates that change only editable files share it;
 * held-out data (`prepare.heldOut`) lie beside it, under the same key with `.heldout` added.
 * Prepare's failure is the trial's, with prepare's log added to `logs`.
 */
export async function preparedData (opts: TrialOptions, backend: SandboxBackend, limits: SandboxLimits, protectedFiles: CauseFile[], logs: string[]): Promise<Prepared> {
  const data = join(opts.dataRoot, `${opts.manifest.name}-${await protectedHash(protectedFiles)}`)
  const prepared: Prepared = { data, ...(opts.manifest.prepare?.heldOut === true ? { heldOut: `${data}.heldout` } : {}) }
  let pending = preparing.get(data)
  if (pending === undefined) {
    pending = prepareData(opts, backend, limits, protectedFiles, prepared).finally(() => preparing.delete(data))
    preparing.set(data, pending)
  }
  await pending.catch((err: unknown) => {
    if (err instanceof TrialError) {
      if (err.log !== '') logs.push(err.log)
      throw err
    }
    throw new TrialError('prepare-failed', `prepare could not run: ${(err as Error).message}`)
  })
  return prepared
}

/** Names (files and directories, at any depth) under `heldOut` that are not also under `data`: what train reaching for held-out data would name. */
export async function heldOutNames (prepared: Prepared, max = 1000): Promise<string[]> {
  if (prepared.heldOut === undefined) return []
  const names = async (dir: string): Promise<Set<string>> => new Set((await fs.readdir(dir, { recursive: true })).slice(0, max).map((p) => basename(p)))
  const inData = await names(prepared.data)
  return [...await names(prepared.heldOut)].filter((n) => !inData.has(n))
}

export async function exists (path: string): Promise<boolean> {
  return fs.access(path).then(() => true, () => false)
}
