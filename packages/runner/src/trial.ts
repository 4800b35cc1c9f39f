import { createHash } from 'node:crypto'
import * as fs from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Manifest } from '@autoresearch/protocol'
import { noneBackend } from './backends/none.ts'
import type { SandboxBackend, StepOutcome, TrialFailure, TrialOptions, TrialResult } from './types.ts'

const MAX_OUTPUT_BYTES = 4 * 1024 * 1024
const MAX_RESULT_BYTES = 1024 * 1024
const LOG_TAIL_CHARS = 2000

type Phase = 'prepare' | 'train' | 'evaluate'

class TrialError extends Error {
  constructor (readonly reason: TrialFailure, message: string, readonly log = '') { super(message) }
}

/** Regular files of a cause by relative path; `.git` is skipped, anything but files and directories is refused. */
async function listFiles (root: string, rel = '', into: Array<{ path: string, mode: number }> = []): Promise<Array<{ path: string, mode: number }>> {
  const entries = await fs.readdir(join(root, rel), { withFileTypes: true })
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  for (const e of entries) {
    const path = rel === '' ? e.name : `${rel}/${e.name}`
    if (e.isDirectory()) {
      if (rel === '' && e.name === '.git') continue
      await listFiles(root, path, into)
    } else if (e.isFile()) {
      into.push({ path, mode: (await fs.lstat(join(root, path))).mode })
    } else {
      throw new TrialError('invalid-cause', `"${path}" is not a regular file or directory`)
    }
  }
  return into
}

function isEditable (manifest: Manifest, path: string): boolean {
  return manifest.editable.some((e) => path === e || path.startsWith(`${e}/`))
}

/** Cache key of prepared data: the protected files only, so candidates that change editable files share it. */
async function protectedHash (causeDir: string, files: Array<{ path: string }>, manifest: Manifest): Promise<string> {
  const hash = createHash('sha256')
  for (const { path } of files) {
    if (isEditable(manifest, path)) continue
    const content = await fs.readFile(join(causeDir, path))
    hash.update(`${path}\0${content.length}\0`).update(content)
  }
  return hash.digest('hex')
}

async function copyCause (causeDir: string, files: Array<{ path: string, mode: number }>, dest: string): Promise<void> {
  await fs.mkdir(dest, { recursive: true })
  for (const f of files) {
    const target = join(dest, f.path)
    await fs.mkdir(join(target, '..'), { recursive: true })
    await fs.copyFile(join(causeDir, f.path), target)
    await fs.chmod(target, (f.mode & 0o111) !== 0 ? 0o755 : 0o644)
  }
}

function stepEnv (seed: number, data: string, out: string, home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    AUTORESEARCH_SEED: String(seed),
    AUTORESEARCH_DATA: data,
    AUTORESEARCH_OUT: out,
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONHASHSEED: '0',
    HOME: home,
    LANG: 'C.UTF-8',
    ...extra
  }
}

function failureOf (phase: Phase, outcome: StepOutcome): TrialError | undefined {
  if (outcome.aborted) return new TrialError('aborted', `${phase} was aborted`)
  const reason: TrialFailure = phase === 'prepare' ? 'prepare-failed' : outcome.timedOut ? 'timeout' : 'crash'
  if (outcome.timedOut) return new TrialError(reason, `${phase} ran past its time limit and was killed`)
  if (outcome.exitCode !== 0) {
    const how = outcome.signal !== null ? `was killed by ${outcome.signal}` : `exited with code ${outcome.exitCode}`
    return new TrialError(reason, `${phase} ${how}`)
  }
  return undefined
}

/** In-process dedupe of concurrent prepares; across processes the atomic rename below keeps the cache sound. */
const preparing = new Map<string, Promise<void>>()

async function prepareData (opts: TrialOptions, backend: SandboxBackend, files: Array<{ path: string, mode: number }>, dataDir: string): Promise<void> {
  const step = opts.manifest.prepare
  if (step === undefined) {
    await fs.mkdir(dataDir, { recursive: true })
    return
  }
  if (await exists(dataDir)) return
  await fs.mkdir(opts.dataRoot, { recursive: true })
  const work = await fs.mkdtemp(join(opts.dataRoot, `.${opts.manifest.name}-prepare-`))
  try {
    const [cause, data, out] = ['cause', 'data', 'out'].map((d) => join(work, d)) as [string, string, string]
    await copyCause(opts.causeDir, files, cause)
    await fs.mkdir(data)
    await fs.mkdir(out)
    // Seed 0: prepared data are shared by every seed, so they must not depend on one.
    const outcome = await backend.run({
      command: step.command,
      cwd: cause,
      env: stepEnv(0, data, out, cause),
      timeoutMs: step.timeoutSeconds * 1000,
      writable: [cause, data, out],
      readOnly: [],
      maxOutputBytes: MAX_OUTPUT_BYTES,
      signal: opts.signal,
      onLine: (line) => opts.onLine?.('prepare', line)
    })
    const failure = failureOf('prepare', outcome)
    if (failure !== undefined) throw new TrialError(failure.reason, failure.message, outcome.output)
    await readOnlyFiles(data)
    try {
      await fs.rename(data, dataDir)
    } catch (err) {
      // Another process finished the same prepare first; its data are equivalent.
      if (!await exists(dataDir)) throw err
    }
  } finally {
    await fs.rm(work, { recursive: true, force: true })
  }
}

/** Guards the shared cache against accidental writes by later steps (directories stay writable so the cache can be deleted). */
async function readOnlyFiles (dir: string): Promise<void> {
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) await readOnlyFiles(p)
    else if (e.isFile()) await fs.chmod(p, 0o444)
  }
}

async function exists (path: string): Promise<boolean> {
  return fs.access(path).then(() => true, () => false)
}

async function readResult (path: string): Promise<Record<string, unknown>> {
  let text: string
  try {
    const handle = await fs.open(path, 'r')
    try {
      const { size } = await handle.stat()
      if (size > MAX_RESULT_BYTES) throw new TrialError('no-result', `result file is ${size} bytes, over the limit of ${MAX_RESULT_BYTES}`)
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
 * Runs one experiment: prepare (cached), train, evaluate, metric. A failing cause gives
 * `ok: false` with a reason; only the runner's own failures (disk full, ...) throw.
 */
export async function runTrial (opts: TrialOptions): Promise<TrialResult> {
  const started = Date.now()
  const backend = opts.backend ?? noneBackend()
  const { manifest } = opts
  const logs: string[] = []
  const trialRoot = await fs.mkdtemp(join(opts.scratchRoot ?? tmpdir(), 'autoresearch-trial-'))

  const step = async (phase: 'train' | 'evaluate', cwd: string, env: Record<string, string>, writable: string[], readOnly: string[]): Promise<StepOutcome> => {
    const spec = phase === 'train' ? manifest.train : manifest.evaluate
    if (spec === undefined) throw new Error(`no ${phase} step`)
    if (opts.signal?.aborted === true) throw new TrialError('aborted', `aborted before ${phase}`)
    const outcome = await backend.run({
      command: spec.command,
      cwd,
      env,
      timeoutMs: spec.timeoutSeconds * 1000,
      writable,
      readOnly,
      maxOutputBytes: MAX_OUTPUT_BYTES,
      signal: opts.signal,
      onLine: (line) => opts.onLine?.(phase, line)
    })
    logs.push(`=== ${phase} ===\n${outcome.output}${outcome.output.endsWith('\n') ? '' : '\n'}`)
    const failure = failureOf(phase, outcome)
    if (failure !== undefined) throw failure
    return outcome
  }

  try {
    const files = await listFiles(opts.causeDir).catch((err: unknown) => {
      if (err instanceof TrialError) throw err
      throw new TrialError('invalid-cause', `cannot read the cause at ${opts.causeDir}: ${(err as Error).message}`)
    })
    const dataDir = join(opts.dataRoot, `${manifest.name}-${await protectedHash(opts.causeDir, files, manifest)}`)
    let pending = preparing.get(dataDir)
    if (pending === undefined) {
      pending = prepareData(opts, backend, files, dataDir).finally(() => preparing.delete(dataDir))
      preparing.set(dataDir, pending)
    }
    await pending.catch((err: unknown) => {
      if (err instanceof TrialError) {
        if (err.log !== '') logs.push(`=== prepare ===\n${err.log}`)
        throw err
      }
      throw new TrialError('prepare-failed', `prepare could not run: ${(err as Error).message}`)
    })

    const trainDir = join(trialRoot, 'train')
    const out = join(trialRoot, 'out')
    await copyCause(opts.causeDir, files, trainDir)
    await fs.mkdir(out)
    const train = await step('train', trainDir, stepEnv(opts.seed, dataDir, out, trainDir), [trainDir, out], [dataDir])

    let result: Record<string, unknown>
    if (manifest.evaluate !== undefined) {
      // A pristine copy and a result path made only now: train can neither alter the
      // frozen evaluate code nor plant a result file in advance.
      const evalDir = await fs.mkdtemp(join(trialRoot, 'evaluate-'))
      const resultDir = await fs.mkdtemp(join(trialRoot, 'result-'))
      await copyCause(opts.causeDir, files, evalDir)
      const resultPath = join(resultDir, 'result.json')
      await step('evaluate', evalDir, stepEnv(opts.seed, dataDir, out, evalDir, { AUTORESEARCH_RESULT: resultPath }), [evalDir, resultDir], [dataDir, out])
      result = await readResult(resultPath)
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
    await fs.rm(trialRoot, { recursive: true, force: true })
  }
}

function digest (text: string): string {
  return createHash('sha256').update(text).digest('hex')
}
