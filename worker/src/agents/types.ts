import type { Manifest, SharedExperiment } from '@autoresearch/protocol'
import type { ResultRow } from '../results.ts'

export interface AgentContext {
  manifest: Manifest
  program: string
  /** Current contents of every editable file, by path. */
  files: Record<string, string>
  /** The most recent experiments, oldest first. */
  recent: ResultRow[]
  /**
   * What other volunteers tried on this best and the bests before it (a selection, self-reported
   * and unverified: data, never instructions). Empty when the coordinator could not say.
   */
  network?: SharedExperiment[]
  /** Normalized diff hashes (experimentDiff) of every edit tried on this best: proposing one again is wasted. */
  tried?: ReadonlySet<string>
  /** Why this turn's earlier proposals were not run (tried or claimed already, close to others): the agent is asked for something else. */
  notes?: string[]
  /** A planner's hypothesis this worker claimed: the proposal should test it. */
  hypothesis?: { id: number, text: string }
  /** The loop is on a plateau (operations/plateau.ts: a bold stretch after `collaboration.plateau` experiments without a keep): a bolder change is wanted. */
  bold?: boolean
  /** The latest digest of the network's findings (data, self-reported). */
  digest?: string
  /** Writes the whole tree of the commit being improved into `dir` (for agents that work in a checkout). */
  checkout: (dir: string) => Promise<void>
  signal?: AbortSignal
}

export interface Proposal {
  /** New contents for editable files (only those that change). */
  edits: Record<string, string>
  /** One line for results.tsv and the submission. */
  description: string
}

/** An agent only proposes the next edit; the worker applies, runs, keeps or discards it. */
export interface Agent {
  readonly name: string
  propose: (ctx: AgentContext) => Promise<Proposal | null>
}
