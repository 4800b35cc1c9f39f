import type { Manifest } from '@autoresearch/protocol'

/** Where a step runs: `bwrap`, `docker`, `podman`, or `none` (no isolation; see docs/sandbox.md). */
export interface SandboxBackend {
  readonly name: string
  /** Whether steps can run inside a trial's capped disk (`StepSpec.disk`); else the trial's scratch is on the host's disk. */
  readonly entersDisk?: boolean
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
  /** Train's budget: SIGTERM to what runs in the sandbox at `seconds`, SIGKILL `graceSeconds` later; the outcome says `overBudget`. */
  budget?: { seconds: number, graceSeconds: number }
  /** Whether the step may use the network (only prepare, and only if the manifest says so). Default false. */
  network?: boolean
  /** Per-step resource limits; a sandboxing backend must enforce them. */
  limits?: StepLimits
  /** A writable scratch directory the sandbox mounts as /tmp (and /dev/shm); without it they are not writable. */
  tmpDir?: string
  /**
   * The trial's capped disk: the step's writable paths exist only inside its mount namespace.
   * The backend runs the step through `enter`, and reaches those paths itself through `view`.
   */
  disk?: { enter: string[], view: (path: string) => string }
  /**
   * Whether a backend that runs as root gives the step's writable trees back to the runner's
   * user afterwards (default true). A trial's caller says false: it reads what the step left
   * as root (which needs no ownership) and then removes it, and a chown(1) is one more fork.
   */
  handBack?: boolean
  /** Device nodes passed through; default: the GPU nodes present (/dev/nvidia*, /dev/dri, /dev/kfd). */
  devices?: string[]
  signal?: AbortSignal
  onLine?: (line: string) => void
}

export interface StepOutcome {
  exitCode: number | null
  signal: string | null
  timedOut: boolean
  /** The step was still running at its budget (and got SIGTERM). */
  overBudget?: boolean
  aborted: boolean
  /** Combined stdout and stderr, capped. */
  output: string
  durationMs: number
  /** Set by a sandboxing backend when the sandbox itself could not start the step: not the step's fault. */
  sandboxError?: string
}

/** Limits a sandbox enforces inside the step; 0 means no limit. */
export interface StepLimits {
  /** CPU seconds per process (RLIMIT_CPU). */
  cpuSeconds: number
  /** Private writable memory per process (RLIMIT_DATA: heap and anonymous mappings, not reserved address space). */
  memoryBytes: number
  /** Processes and threads the step may have at once (RLIMIT_NPROC, per sandbox). */
  processes: number
  /** Largest file the step may write (RLIMIT_FSIZE). */
  fileBytes: number
}

/** Limits of a trial; 0 means no limit. Defaults: see `defaultLimits()`. */
export interface SandboxLimits {
  /** CPU seconds per process; default: the step's time limit times the number of cores. */
  cpuSeconds?: number
  memoryBytes: number
  processes: number
  /** Captured stdout+stderr per step. */
  outputBytes: number
  /** The out dir after train, and any single file a step writes. */
  artifactBytes: number
  /** What one step writes in its checkout and /tmp (train's out dir has `artifactBytes`), enforced by a tmpfs of this size per step. */
  diskBytes: number
}

export type TrialFailure =
  | 'timeout' | 'crash' | 'no-result' | 'aborted' | 'prepare-failed' | 'invalid-cause'
  /** A step ran out of its memory limit. */
  | 'memory'
  /** A step tried what the sandbox forbids (network, writing outside, too many processes). Best-effort label from its output. */
  | 'sandbox-violation'
  /** The chosen sandbox cannot run on this machine. */
  | 'sandbox-unavailable'
  /** The out dir, a file or a step's writes grew past the limits. */
  | 'artifact-too-large'
  /** Train was still running at the budget the manifest gives it (`train.budgetSeconds`). */
  | 'over-budget'
  /** Train did more work than `train.workBudget` allows: the cause's frozen meter stopped it, or evaluate reported more. */
  | 'over-work-budget'
  /** Train failed reaching for held-out data (`prepare.heldOut`), which only evaluate sees. Best-effort label from its output. */
  | 'held-out-access'
  /** The runner itself failed on this machine (set by its callers, e.g. the verifier, so that a job is never left unfinished). */
  | 'runner-error'

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
  /** Default: the none backend (no isolation); use selectBackend() for a sandbox. */
  backend?: SandboxBackend
  /**
   * A directory holding the cause at the revision whose protected files (everything not
   * `editable`) prepare, train and evaluate use, normally the current best. Only the
   * editable files come from `causeDir`. Default: `causeDir` itself.
   */
  protectedDir?: string
  /** Overrides of the default limits. */
  limits?: Partial<SandboxLimits>
  signal?: AbortSignal
  onLine?: (phase: 'prepare' | 'train' | 'evaluate', line: string) => void
}
