import { createHash, randomBytes } from 'node:crypto'
import * as fs from 'node:fs/promises'
import { availableParallelism, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_GRACE_SECONDS, type Manifest } from '@autoresearch/protocol'
import { noneBackend } from './backends/none.ts'
import { cappedDisk, hostDisk, type TrialDisk } from './disk.ts'
import { readableTree, removeTree, treeUsage } from './tree.ts'
import type { SandboxBackend, SandboxLimits, StepLimits, StepOutcome, StepSpec, TrialFailure, TrialOptions, TrialResult } from './types.ts'

const MAX_RESULT_BYTES = 1024 * 1024
const LOG_TAIL_CHARS = 2000
/** More entries than this in a step's directories is an attempt on the disk's inodes. */
const MAX_ENTRIES = 200_000
const DISK_POLL_MS = 1000
const GiB = 1024 ** 3

/** Host variables a step may see besides its own; everything else (keys, HOME, SSH_AUTH_SOCK, ...) is dropped. */
export const PASSED_ENV = ['CUDA_VISIBLE_DEVICES', 'NVIDIA_VISIBLE_DEVICES', 'NVIDIA_DRIVER_CAPABILITIES', 'HIP_VISIBLE_DEVICES', 'ROCR_VISIBLE_DEVICES', 'OMP_NUM_THREADS', 'TZ']

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

type Phase = 'prepare' | 'train' | 'evaluate'

class TrialError extends Error {
  constructor (readonly reason: TrialFailure, message: string, readonly log = '') { super(message) }
}

interface CauseFile { root: string, path: string, mode: number }

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

function isEditable (manifest: Manifest, path: string): boolean {
  return manifest.editable.some((e) => path === e || path.startsWith(`${e}/`))
}

/** Cache key of prepared data: the protected files only, so candidates that change editable files share it. */
async function protectedHash (files: CauseFile[]): Promise<string> {
  const hash = createHash('sha256')
  for (const f of files) {
    const content = await fs.readFile(join(f.root, f.path))
    hash.update(`${f.path}\0${content.length}\0`).update(content)
  }
  return hash.digest('hex')
}

async function copyFiles (files: CauseFile[], dest: string): Promise<void> {
  await fs.mkdir(dest, { recursive: true })
  for (const f of files) {
    const target = join(dest, f.path)
    await fs.mkdir(join(target, '..'), { recursive: true })
    await fs.copyFile(join(f.root, f.path), target)
    await fs.chmod(target, (f.mode & 0o111) !== 0 ? 0o755 : 0o644)
  }
}

/** `seed` null: the step does not see AUTORESEARCH_SEED at all. */
function stepEnv (seed: number | null, data: string, out: string, home: string, extra: Record<string, string> = {}): Record<string, string> {
  const passed: Record<string, string> = {}
  for (const key of PASSED_ENV) {
    const value = process.env[key]
    if (value !== undefined) passed[key] = value
  }
  return {
    ...passed,
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    ...(seed === null ? {} : { AUTORESEARCH_SEED: String(seed) }),
    AUTORESEARCH_DATA: data,
    AUTORESEARCH_OUT: out,
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONHASHSEED: '0',
    HOME: home,
    LANG: 'C.UTF-8',
    ...extra
  }
}

function stepLimits (limits: SandboxLimits, timeoutSeconds: number, capFiles: boolean): StepLimits {
  return {
    cpuSeconds: limits.cpuSeconds ?? Math.ceil(timeoutSeconds * availableParallelism()),
    memoryBytes: limits.memoryBytes,
    processes: limits.processes,
    fileBytes: capFiles ? limits.artifactBytes : 0
  }
}

/** Best-effort reason for a failed step from how it ended and its last words; it can only label a failure, never make one a success. */
function classify (outcome: StepOutcome, spec: StepSpec): [TrialFailure, string] {
  const limits = spec.limits
  const tail = outcome.output.slice(-8000)
  if (outcome.signal === 'SIGXCPU') return ['timeout', `it used more than its CPU-time limit (${limits?.cpuSeconds ?? '?'} s per process)`]
  // Python ignores SIGXFSZ, so the write fails with EFBIG instead.
  if (outcome.signal === 'SIGXFSZ' || /File too large/.test(tail)) return ['artifact-too-large', `it wrote a file past the size limit (${limits?.fileBytes ?? '?'} bytes)`]
  if (/MemoryError|Cannot allocate memory|std::bad_alloc|out of memory|OutOfMemoryError/i.test(tail)) {
    return ['memory', `it ran out of memory (limit ${limits?.memoryBytes ?? '?'} bytes per process)`]
  }
  if (/Read-only file system/.test(tail)) return ['sandbox-violation', 'it tried to write outside its checkout, out dir and /tmp']
  if (/Resource temporarily unavailable|BlockingIOError/.test(tail)) return ['sandbox-violation', `it hit the process limit (${limits?.processes ?? '?'})`]
  if (spec.network !== true && /Network is unreachable|Connection refused|Name or service not known|Temporary failure in name resolution/.test(tail)) {
    return ['sandbox-violation', 'it tried to use the network, which it does not have']
  }
  return ['crash', '']
}

function failureOf (phase: Phase, outcome: StepOutcome, spec: StepSpec): TrialError | undefined {
  if (outcome.aborted) return new TrialError('aborted', `${phase} was aborted`)
  if (outcome.overBudget === true && spec.budget !== undefined) {
    const { seconds, graceSeconds } = spec.budget
    return new TrialError('over-budget', `${phase} was still running at its budget of ${seconds} s (train.budgetSeconds): it got SIGTERM then, and SIGKILL ${graceSeconds} s later if it had not ended`)
  }
  if (outcome.timedOut) return new TrialError(phase === 'prepare' ? 'prepare-failed' : 'timeout', `${phase} ran past its time limit (${spec.timeoutMs / 1000} s) and was killed`)
  if (outcome.sandboxError !== undefined) return new TrialError('sandbox-unavailable', `the sandbox could not start ${phase}: ${outcome.sandboxError}`)
  if (outcome.exitCode === 0) return undefined
  const how = outcome.signal !== null ? `was killed by ${outcome.signal}` : `exited with code ${outcome.exitCode}`
  const [reason, why] = classify(outcome, spec)
  return new TrialError(phase === 'prepare' ? 'prepare-failed' : reason, `${phase} ${how}${why === '' ? '' : `: ${why}`}`)
}

/** Ends a step whose directories grow past `limit` bytes or MAX_ENTRIES entries, checked every second. */
function watchDisk (dirs: string[], limit: number): { signal: AbortSignal, exceeded: () => string | undefined, stop: () => void } {
  const controller = new AbortController()
  let exceeded: string | undefined
  let busy = false
  const timer = setInterval(() => {
    if (busy || limit <= 0) return
    busy = true
    treeUsage(dirs).then((usage) => {
      if (usage.bytes > limit) exceeded = `it wrote ${usage.bytes} bytes, over the disk limit of ${limit}`
      else if (usage.entries > MAX_ENTRIES) exceeded = `it made more than ${MAX_ENTRIES} files`
      if (exceeded !== undefined) controller.abort()
    }, () => {}).finally(() => { busy = false })
  }, DISK_POLL_MS)
  return { signal: controller.signal, exceeded: () => exceeded, stop: () => clearInterval(timer) }
}

/**
 * Runs one step with the disk watch (only on a disk the kernel does not cap) and, after it,
 * asks `filled` whether it filled its capped disk; turns any failure into a TrialError carrying the step's log.
 */
async function runStep (backend: SandboxBackend, phase: Phase, spec: StepSpec, diskBytes: number, logs: string[], filled?: () => Promise<string | undefined>): Promise<StepOutcome> {
  if (spec.signal?.aborted === true) throw new TrialError('aborted', `aborted before ${phase}`)
  const view = spec.disk?.view ?? ((p: string) => p)
  const watch = watchDisk([...spec.writable, ...(spec.tmpDir === undefined ? [] : [spec.tmpDir])].map(view), diskBytes)
  let outcome: StepOutcome
  try {
    const signal = spec.signal === undefined ? watch.signal : AbortSignal.any([spec.signal, watch.signal])
    outcome = await backend.run({ ...spec, signal })
  } finally {
    watch.stop()
  }
  logs.push(`=== ${phase} ===\n${outcome.output}${outcome.output.endsWith('\n') ? '' : '\n'}`)
  const tooBig = watch.exceeded()
  if (tooBig !== undefined && !isAborted(spec.signal)) throw new TrialError('artifact-too-large', `${phase} was stopped: ${tooBig}`)
  // A step that catches ENOSPC and exits 0 has still hit the limit.
  const full = isAborted(spec.signal) ? undefined : await filled?.()
  if (full !== undefined) throw new TrialError('artifact-too-large', `${phase} filled its disk: ${full}`)
  const failure = failureOf(phase, outcome, spec)
  if (failure !== undefined) throw failure
  return outcome
}

// A function, so that the check is not narrowed away across the await above.
function isAborted (signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

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
    }
  } finally {
    await removeTree(work)
  }
}

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
    if (!warnedUncapped) console.warn(`autoresearch runner: ${(err as Error).message}; trials' disks are watched once a second instead of capped (docs/sandbox.md, Disk)`)
    warnedUncapped = true
    return await hostDisk(root)
  }
}

let warnedUncapped = false

async function exists (path: string): Promise<boolean> {
  return fs.access(path).then(() => true, () => false)
}

async function readResult (path: string): Promise<Record<string, unknown>> {
  let text: string
  try {
    // O_NOFOLLOW: the result must be a file evaluate wrote, not a link to one elsewhere.
    const handle = await fs.open(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW)
    try {
      const stat = await handle.stat()
      if (!stat.isFile()) throw new TrialError('no-result', 'the result is not a regular file')
      if (stat.size > MAX_RESULT_BYTES) throw new TrialError('no-result', `result file is ${stat.size} bytes, over the limit of ${MAX_RESULT_BYTES}`)
      text = await handle.readFile('utf8')
    } finally {
      await handle.close()
    }
  } catch (err) {
    if (err instanceof TrialError) throw err
    throw new TrialError('no-result', 'evaluate wrote no result file')
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new TrialError('no-result', 'the result file is not JSON')
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new TrialError('no-result', 'the result file is not a JSON object')
  return json as Record<string, unknown>
}

/** Reads the metric from train's output, for causes without an evaluate step: the last matching line wins. */
function metricFromOutput (pattern: string, output: string): Record<string, unknown> {
  let re: RegExp
  try {
    re = new RegExp(pattern)
  } catch {
    throw new TrialError('invalid-cause', `metric.stdoutPattern is not a valid regular expression: ${pattern}`)
  }
  const lines = output.split('\n')
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = re.exec(lines[i] as string)
    if (m?.[1] !== undefined) return { metric: Number(m[1]), source: 'stdout' }
  }
  throw new TrialError('no-result', `no line of train's output matches ${pattern}`)
}

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

  const step = async (phase: 'train' | 'evaluate', dirs: { cwd: string, tmp: string, writable: string[], readOnly: string[] }, env: Record<string, string>): Promise<StepOutcome> => {
    const spec = phase === 'train' ? manifest.train : manifest.evaluate
    if (spec === undefined) throw new Error(`no ${phase} step`)
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
      signal: opts.signal,
      onLine: (line) => opts.onLine?.(phase, line)
    }, d.capped ? 0 : limits.diskBytes, logs, async () => await filledArea(d, phase, limits))
  }

  try {
    const candidate = await causeFiles(opts.causeDir)
    const protectedFiles = (opts.protectedDir === undefined ? candidate : await causeFiles(opts.protectedDir)).filter((f) => !isEditable(manifest, f.path))
    const editableFiles = candidate.filter((f) => isEditable(manifest, f.path))
    const dataDir = join(opts.dataRoot, `${manifest.name}-${await protectedHash(protectedFiles)}`)
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

    disk = await trialDisk(backend, trialRoot, limits)
    const view = disk.view
    const [trainDir, trainTmp] = ['train', 'tmp'].map((d) => join(trialRoot, TRAIN_AREA, d)) as [string, string]
    const out = join(trialRoot, OUT_AREA)
    await copyFiles([...protectedFiles, ...editableFiles], view(trainDir))
    await fs.mkdir(view(trainTmp))
    const train = await step('train', { cwd: trainDir, tmp: trainTmp, writable: [trainDir, out], readOnly: [dataDir] }, stepEnv(opts.seed, dataDir, out, trainDir))

    let result: Record<string, unknown>
    if (manifest.evaluate !== undefined) {
      // Train has ended with all its processes: the out dir is final, whatever it holds.
      const artifacts = await treeUsage([view(out)])
      if (artifacts.bytes > limits.artifactBytes) throw new TrialError('artifact-too-large', `train left ${artifacts.bytes} bytes in its out dir, over the limit of ${limits.artifactBytes}`)
      await readableTree(view(out)).catch((err: unknown) => { throw new TrialError('crash', `train's out dir cannot be read: ${(err as Error).message}`) })
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
      await step('evaluate', { cwd: evalDir, tmp: evalTmp, writable: [evalDir, resultDir], readOnly: [dataDir, out] }, stepEnv(manifest.evaluate.seeded ? opts.seed : null, dataDir, out, evalDir, { AUTORESEARCH_RESULT: resultPath }))
      result = await readResult(view(resultPath))
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
