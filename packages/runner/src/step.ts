import { availableParallelism } from 'node:os'
import { logger } from '@libp2p/logger'
import { TrialError } from './errors.ts'
import { treeUsage } from './tree.ts'
import type { SandboxBackend, SandboxLimits, StepLimits, StepOutcome, StepSpec, TrialFailure } from './types.ts'

const log = logger('autoresearch:runner:step')

/** More entries than this in a step's directories is an attempt on the disk's inodes. */
export const MAX_ENTRIES = 200_000
const DISK_POLL_MS = 1000

export type Phase = 'prepare' | 'train' | 'evaluate'

/** Host variables a step may see besides its own; everything else (keys, HOME, SSH_AUTH_SOCK, ...) is dropped. */
export const PASSED_ENV = ['CUDA_VISIBLE_DEVICES', 'NVIDIA_VISIBLE_DEVICES', 'NVIDIA_DRIVER_CAPABILITIES', 'HIP_VISIBLE_DEVICES', 'ROCR_VISIBLE_DEVICES', 'OMP_NUM_THREADS', 'TZ']

/** `seed` null: the step does not see AUTORESEARCH_SEED at all. */
export function stepEnv (seed: number | null, data: string, out: string, home: string, extra: Record<string, string> = {}): Record<string, string> {
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

export function stepLimits (limits: SandboxLimits, timeoutSeconds: number, capFiles: boolean): StepLimits {
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
    }, (err: unknown) => {
      // A walk that fails this second is tried again the next; the kernel's caps stay in force.
      log.error('could not measure %s: %e', dirs.join(', '), err)
    }).finally(() => { busy = false })
  }, DISK_POLL_MS)
  return { signal: controller.signal, exceeded: () => exceeded, stop: () => clearInterval(timer) }
}

/**
 * Runs one step with the disk watch (only on a disk the kernel does not cap) and, after it,
 * asks `filled` whether it filled its capped disk; turns any failure into a TrialError carrying the step's log.
 * `relabel` may name a failure by the cause's own rules (train-rules.ts).
 */
export async function runStep (backend: SandboxBackend, phase: Phase, spec: StepSpec, diskBytes: number, logs: string[], filled?: () => Promise<string | undefined>, relabel?: (outcome: StepOutcome, failure: TrialError) => TrialError | undefined): Promise<StepOutcome> {
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
  if (failure !== undefined) throw relabel?.(outcome, failure) ?? failure
  return outcome
}

// A function, so that the check is not narrowed away across the await above.
export function isAborted (signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}
