import { createHash, randomBytes } from 'node:crypto'
import * as fs from 'node:fs/promises'
import { tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import { DEFAULT_GRACE_SECONDS, type Manifest } from '@autoresearch/protocol'
import { noneBackend } from './backends/none.ts'
import { cappedDisk, hostDisk, type TrialDisk } from './disk.ts'
import { TrialError } from './errors.ts'
import { copyFiles, trialFiles } from './files.ts'
import { heldOutNames, preparedData } from './prepare.ts'
import { metricFromOutput, readResult } from './result.ts'
import { MAX_ENTRIES, runStep, stepEnv, stepLimits, type Phase } from './step.ts'
import { checkTrained, HELD_OUT_ENV, trainFailure, workBudgetEnv } from './train-rules.ts'
import { measureAndShare, removeTree } from './tree.ts'
import type { SandboxBackend, SandboxLimits, StepOutcome, StepSpec, TrialOptions, TrialResult } from './types.ts'

const log = logger('autoresearch:runner:trial')

const LOG_TAIL_CHARS = 2000
const GiB = 1024 ** 3

export { PASSED_ENV } from './step.ts'

export function defaultLimits (): SandboxLimits {
  return {
    memoryBytes: Math.floor(totalmem() * 0.75),
    processes: 1024,
    outputBytes: 4 * 1024 * 1024,
    artifactBytes: 1 * GiB,
    diskBytes: 4 * GiB
  }
}

/** Where the metric of a cause comes from: its frozen evaluate step, or train's own output (self-reported). */
export { metricSource } from '@autoresearch/protocol'

/** Mount names below the trial root: train's checkout and /tmp, train's out dir, evaluate's checkout, result and /tmp. */
const TRAIN_AREA = 't'
const OUT_AREA = 'out'
const EVAL_AREA = 'e'

/**
 * The trial's scratch space: capped by the kernel where the backend can run inside its
 * namespace, else (a container engine, or where the namespace cannot be made) the host's
 * disk under the once-a-second watch.
 */
async function trialDisk (backend: SandboxBackend, root: string, limits: SandboxLimits): Promise<TrialDisk> {
  for (const area of [TRAIN_AREA, OUT_AREA, EVAL_AREA]) await fs.mkdir(join(root, area))
  if (backend.entersDisk !== true) return await hostDisk(root)
  try {
    return await cappedDisk(root, [
      { name: TRAIN_AREA, bytes: limits.diskBytes, inodes: MAX_ENTRIES },
      { name: OUT_AREA, bytes: limits.artifactBytes, inodes: MAX_ENTRIES },
      { name: EVAL_AREA, bytes: limits.diskBytes, inodes: MAX_ENTRIES }
    ])
  } catch (err) {
    // Where the holder may not mount (AppArmor's unprivileged bwrap profile on Ubuntu ≥ 23.10
    // drops its capabilities), the watch still sees every depth: it walks by file descriptor.
    log.error('no capped disk for %s: %e', root, err)
    if (!warnedUncapped) console.warn(`autoresearch runner: ${(err as Error).message}; trials' disks are watched once a second instead of capped (docs/sandbox.md, Disk)`)
    warnedUncapped = true
    return await hostDisk(root)
  }
}

let warnedUncapped = false

/**
 * Runs one experiment: prepare (cached), train, evaluate, metric. Train runs the candidate's
 * editable files over the protected ones; evaluate runs only the protected files, against
 * train's out dir mounted read-only, and alone knows where the result goes. A failing cause
 * gives `ok: false` with a reason; only the runner's own failures (disk full, ...) throw.
 */
export async function runTrial (opts: TrialOptions): Promise<TrialResult> {
  const started = Date.now()
  const backend = opts.backend ?? noneBackend()
  const limits: SandboxLimits = { ...defaultLimits(), ...opts.limits }
  const { manifest } = opts
  const logs: string[] = []
  const scratchRoot = opts.scratchRoot ?? tmpdir()
  await fs.mkdir(scratchRoot, { recursive: true })
  const trialRoot = await fs.mkdtemp(join(scratchRoot, 'autoresearch-trial-'))
  let disk: TrialDisk | undefined

  const step = async (phase: 'train' | 'evaluate', dirs: { cwd: string, tmp: string, writable: string[], readOnly: string[] }, env: Record<string, string>, relabel?: Parameters<typeof runStep>[6]): Promise<StepOutcome> => {
    const spec = phase === 'train' ? manifest.train : manifest.evaluate
    if (spec === undefined) throw new TrialError('invalid-cause', `the manifest has no ${phase} step`)
    const d = disk as TrialDisk
    const budget = trainBudget(manifest, phase)
    return await runStep(backend, phase, {
      command: spec.command,
      cwd: dirs.cwd,
      // The deadline is taken just before the start: the SIGTERM never comes earlier than it says.
      env: budget === undefined ? env : { ...env, AUTORESEARCH_TRAIN_BUDGET_SECONDS: String(budget.seconds), AUTORESEARCH_TRAIN_DEADLINE: String((Date.now() / 1000 + budget.seconds).toFixed(3)) },
      budget,
      timeoutMs: spec.timeoutSeconds * 1000,
      writable: dirs.writable,
      readOnly: dirs.readOnly,
      tmpDir: dirs.tmp,
      network: false,
      limits: stepLimits(limits, spec.timeoutSeconds, true),
      maxOutputBytes: limits.outputBytes,
      disk: d.capped ? { enter: d.enter, view: d.view } : undefined,
      // Removed with the trial, and what the runner reads of it first it reads as root.
      handBack: false,
      signal: opts.signal,
      onLine: (line) => opts.onLine?.(phase, line)
    }, d.capped ? 0 : limits.diskBytes, logs, async () => await filledArea(d, phase, limits), relabel)
  }

  try {
    const { protectedFiles, editableFiles } = await trialFiles(manifest, opts.causeDir, opts.protectedDir)
    const prepared = await preparedData(opts, backend, limits, protectedFiles, logs)
    const dataDir = prepared.data
    const heldOut = await heldOutNames(prepared)

    disk = await trialDisk(backend, trialRoot, limits)
    const view = disk.view
    const [trainDir, trainTmp] = ['train', 'tmp'].map((d) => join(trialRoot, TRAIN_AREA, d)) as [string, string]
    const out = join(trialRoot, OUT_AREA)
    await copyFiles([...protectedFiles, ...editableFiles], view(trainDir))
    await fs.mkdir(view(trainTmp))
    // Held-out data are neither mounted nor named for train (docs/sandbox.md).
    const train = await step('train', { cwd: trainDir, tmp: trainTmp, writable: [trainDir, out], readOnly: [dataDir] }, stepEnv(opts.seed, dataDir, out, trainDir, workBudgetEnv(manifest)),
      (outcome, failure) => trainFailure(manifest, outcome, failure, heldOut))

    let result: Record<string, unknown>
    if (manifest.evaluate !== undefined) {
      // Train has ended with all its processes: the out dir is final, whatever it holds.
      const artifacts = await measureAndShare(view(out))
      if (artifacts.bytes > limits.artifactBytes) throw new TrialError('artifact-too-large', `train left ${artifacts.bytes} bytes in its out dir, over the limit of ${limits.artifactBytes}`)
      if (artifacts.unreadable !== undefined) throw new TrialError('crash', `train's out dir cannot be read: ${artifacts.unreadable}`)
      // Only the protected files, in a copy, with a result path made only now: train can
      // neither alter the frozen evaluate code nor know or plant the result in advance.
      const evalDir = join(trialRoot, EVAL_AREA, 'evaluate')
      await copyFiles(protectedFiles, view(evalDir))
      // Fresh random names: even an unsandboxed train cannot have made them in advance.
      const [resultDir, evalTmp] = ['result-', 'tmp-'].map((d) => join(trialRoot, EVAL_AREA, d + randomBytes(8).toString('hex'))) as [string, string]
      for (const dir of [resultDir, evalTmp]) await fs.mkdir(view(dir), { mode: 0o700 })
      const resultPath = join(resultDir, 'result.json')
      // The seed is train's alone (unless the cause sets evaluate.seeded): the held-out split and
      // whatever evaluate samples are the same for every seed, so all spread across seeds comes
      // from training, which the coordinator's seed-insensitivity rule relies on.
      const heldOutEnv: Record<string, string> = prepared.heldOut === undefined ? {} : { [HELD_OUT_ENV]: prepared.heldOut }
      await step('evaluate', { cwd: evalDir, tmp: evalTmp, writable: [evalDir, resultDir], readOnly: [dataDir, ...(prepared.heldOut === undefined ? [] : [prepared.heldOut]), out] },
        stepEnv(manifest.evaluate.seeded ? opts.seed : null, dataDir, out, evalDir, { ...workBudgetEnv(manifest), ...heldOutEnv, AUTORESEARCH_RESULT: resultPath }))
      result = await readResult(view(resultPath))
      checkTrained(manifest, result)
    } else if (manifest.metric.stdoutPattern !== undefined) {
      result = metricFromOutput(manifest.metric.stdoutPattern, train.output)
    } else {
      throw new TrialError('invalid-cause', 'the manifest has neither an evaluate step nor metric.stdoutPattern')
    }
    const metric = result.metric
    if (typeof metric !== 'number' || !Number.isFinite(metric)) throw new TrialError('no-result', 'the result holds no finite "metric" number')
    const memory = result.memory_gb
    const memoryGb = typeof memory === 'number' && Number.isFinite(memory) && memory >= 0 ? memory : 0
    const log = logs.join('')
    return { ok: true, metric, result, memoryGb, logDigest: digest(log), logTail: log.slice(-LOG_TAIL_CHARS), durationMs: Date.now() - started }
  } catch (err) {
    // Anything else is the runner's own trouble (disk full, ...), not a verdict on the cause.
    if (!(err instanceof TrialError)) throw err
    const failure = err
    const log = logs.join('') + `=== runner ===\n${failure.message}\n`
    return { ok: false, reason: failure.reason, message: failure.message, logDigest: digest(log), logTail: log.slice(-LOG_TAIL_CHARS), durationMs: Date.now() - started }
  } finally {
    // Never throws: what could not be removed is left for the operator, the trial's result stands.
    await (disk?.close() ?? removeTree(trialRoot))
  }
}

/** Which capped area of this phase ran out, said for a person; undefined when none did. */
async function filledArea (disk: TrialDisk, phase: 'train' | 'evaluate', limits: SandboxLimits): Promise<string | undefined> {
  if (!disk.capped) return undefined
  if (phase === 'evaluate') return await disk.full(EVAL_AREA) ? `its checkout, result and /tmp reached the disk limit (${limits.diskBytes} bytes, ${MAX_ENTRIES} files)` : undefined
  if (await disk.full(OUT_AREA)) return `its out dir reached the artifact limit (${limits.artifactBytes} bytes, ${MAX_ENTRIES} files)`
  if (await disk.full(TRAIN_AREA)) return `its checkout and /tmp reached the disk limit (${limits.diskBytes} bytes, ${MAX_ENTRIES} files)`
  return undefined
}

/** Train's budget from the manifest, enforced by the runner and not by the cause's own code. */
function trainBudget (manifest: Manifest, phase: Phase): StepSpec['budget'] {
  const seconds = manifest.train.budgetSeconds
  if (phase !== 'train' || seconds === undefined) return undefined
  return { seconds, graceSeconds: manifest.train.graceSeconds ?? DEFAULT_GRACE_SECONDS }
}

function digest (text: string): string {
  return createHash('sha256').update(text).digest('hex')
}
