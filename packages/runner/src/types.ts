import type { Manifest } from '@autoresearch/protocol'

/**
 * Where a step runs. The skeleton has only the `none` backend (direct spawn);
 * the sandbox issue adds bubblewrap and docker/podman behind this same interface.
 */
export interface SandboxBackend {
  readonly name: string
  /** Starts `command` and resolves when the whole process tree has ended. */
  run: (spec: StepSpec) => Promise<StepOutcome>
}

export interface StepSpec {
  command: string[]
  cwd: string
  env: Record<string, string>
  timeoutMs: number
  /** Directories the step may write (scratch checkout, out dir). */
  writable: string[]
  /** Directories the step may only read (prepared data). */
  readOnly: string[]
  /** Cap on captured stdout+stderr bytes; the rest is dropped and noted. */
  maxOutputBytes: number
  signal?: AbortSignal
  onLine?: (line: string) => void
}

export interface StepOutcome {
  exitCode: number | null
  signal: string | null
  timedOut: boolean
  aborted: boolean
  /** Combined stdout and stderr, capped. */
  output: string
  durationMs: number
}

export type TrialFailure = 'timeout' | 'crash' | 'no-result' | 'aborted' | 'prepare-failed' | 'invalid-cause'

export type TrialResult =
  | { ok: true, metric: number, result: Record<string, unknown>, memoryGb: number, logDigest: string, logTail: string, durationMs: number }
  | { ok: false, reason: TrialFailure, message: string, logDigest: string, logTail: string, durationMs: number }

export interface TrialOptions {
  /** A directory holding the cause's files at the revision to run; it is copied, never modified. */
  causeDir: string
  manifest: Manifest
  seed: number
  /** Root for prepared data, cached per cause name and revision of the protected files. */
  dataRoot: string
  /** Root for scratch checkouts and out dirs (default: the OS temp dir). */
  scratchRoot?: string
  backend?: SandboxBackend
  signal?: AbortSignal
  onLine?: (phase: 'prepare' | 'train' | 'evaluate', line: string) => void
}
