import type { CoordinatorClient, Hardware, Identity, Manifest } from '@autoresearch/protocol'
import type { TrialResult } from '@autoresearch/runner'
import type { Agent } from './agents/types.ts'
import type { WorkerEvent } from './events.ts'
import type { ResultsLog } from './results.ts'
import type { Secret } from './secrets.ts'

/** One measurement of a commit on one seed, in the worker's sandbox (tests pass a fake); `log`: where its output is kept (run-logs.ts). */
export type Trial = (run: TrialRun, options?: { signal?: AbortSignal }) => Promise<TrialResult & { log?: string }>
export interface TrialRun { manifest: Manifest, commit: string, seed: number }

/**
 * What the worker's operations are built from. Each operation takes the `Pick<>` of what
 * it uses, so a spec hands it a fake client, agent or trial and nothing else.
 */
export interface WorkerComponents {
  client: CoordinatorClient
  identity: Identity
  agent: Agent
  /** The local bare repository of the cause. */
  gitdir: string
  /**
   * Seed of the worker's own experiments; the confirmation run uses seed + 1. On a best that
   * verifiers of this hardware class measured, the loop runs on their seeds (operations/seeds.ts).
   */
  seed: number
  /** Author of local commits and the volunteer's name on the leaderboard. */
  name?: string
  team?: string
  hardware?: Hardware
  /** What no candidate may carry (the identity key, the environment's secrets). */
  secrets: Secret[]
  results: ResultsLog
  trial: Trial
  emit: (event: WorkerEvent) => void
}

/** A commit the worker measured, with its metric on the worker's own seed. */
export interface Local { commit: string, metric: number }

