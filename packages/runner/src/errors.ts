import { AutoresearchError } from '@autoresearch/protocol'
import type { TrialFailure } from './types.ts'

/** A trial that failed for a reason of the cause's own (its `reason` goes into the result): never thrown out of runTrial. */
export class TrialError extends AutoresearchError {
  override name = 'TrialError'
  constructor (readonly reason: TrialFailure, message: string, readonly log = '') { super(message) }
}

/** Part of the sandbox (a capped disk, its network namespace, a mount) could not be set up on this machine: the runner's trouble, not the cause's. */
export class SandboxSetupError extends AutoresearchError {
  override name = 'SandboxSetupError'
}

/** A coreutils walk over a step's tree (chmod, du) failed. */
export class TreeToolError extends AutoresearchError {
  override name = 'TreeToolError'
}

/** The runner's spawner process could not start a step or a tree tool at all (spawn refused its arguments); the message is spawn's. */
export class SpawnerError extends AutoresearchError {
  override name = 'SpawnerError'
}
