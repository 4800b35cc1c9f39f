import type { StepOutcome, StepSpec } from '../types.ts'

/** What runSpawned reads of a step; the rest of a StepSpec (functions, the disk's view) stays in the runner's process. */
export type SpawnedSpec = Pick<StepSpec, 'command' | 'cwd' | 'env' | 'timeoutMs' | 'maxOutputBytes' | 'budget'>

/** A SpawnPlan without the callbacks a container backend needs (those steps are spawned by the runner itself). */
export interface PlainPlan {
  argv: string[]
  cwd?: string
  env?: Record<string, string>
  fd3?: Uint8Array
  readFd4?: boolean
  exitCodeIsSignal?: boolean
  monitor?: boolean
}

export interface ToolResult { ok: boolean, stdout: string, stderr: string }

export type SpawnedOutcome = StepOutcome & { status?: string }

/** From the runner to its spawner process. */
export type Request =
  | { type: 'step', id: number, spec: SpawnedSpec, plan: PlainPlan, lines: boolean }
  | { type: 'tool', id: number, argv: string[], timeoutMs: number }
  | { type: 'abort', id: number }

/** From the spawner process back. */
export type Reply =
  | { type: 'ready' }
  | { type: 'pid', id: number, pid: number }
  /** Lines the step printed, in order, since the last such message. */
  | { type: 'lines', id: number, lines: string[] }
  | { type: 'step-done', id: number, outcome: SpawnedOutcome }
  | { type: 'tool-done', id: number, result: ToolResult }
  /** runHere or toolHere threw (spawn refuses its arguments): thrown at the caller as a SpawnerError, as it would have been here. */
  | { type: 'failed', id: number, message: string }
