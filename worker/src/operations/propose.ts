import { logger } from '@libp2p/logger'
import { experimentDiff, isEditable, nearKey, writeTreeTo, type ExperimentDiff, type InfoReply } from '@autoresearch/protocol'
import { describeEdit } from '../agents/describe.ts'
import type { Proposal } from '../agents/types.ts'
import { publicText } from '../secrets.ts'
import type { WorkerComponents } from '../components.ts'
import { describeError } from '../events.ts'
import { editableFiles } from './editable-files.ts'
import type { KnownHistory } from './history.ts'

const log = logger('autoresearch:worker:propose')

export interface ProposeArgs {
  info: Pick<InfoReply, 'manifest' | 'program'>
  /** The commit the agent improves (the local best). */
  commit: string
  /** The experiment's number, for events. */
  n: number
  /** What the network tried on the best, shown to the agent. */
  history?: KnownHistory
  /** A planner's hypothesis this worker claimed: the agent is asked to test it. */
  hypothesis?: { id: number, text: string }
  /** The loop is on a plateau: the agent is asked for a bolder change. */
  bold?: boolean
  /** Why the proposals made before in this turn were not run (tried already, claimed by another). */
  notes?: string[]
}

/** A proposal of editable paths only, with its change as reports, claims and duplicate checks see it. */
export interface Proposed extends Proposal {
  change: ExperimentDiff
  nearKey: string | null
  hypothesis?: number
}

/**
 * Asks the agent for an edit of the local best. Returns only the edits to editable paths
 * (new files under an editable directory included), or undefined when there is nothing
 * to run: no proposal, or an agent that failed (that costs one experiment, never the loop).
 * Whether it runs is decided by the caller (operations/vet.ts).
 */
export async function propose (components: Pick<WorkerComponents, 'agent' | 'gitdir' | 'results' | 'emit'>, args: ProposeArgs, options: { signal?: AbortSignal } = {}): Promise<Proposed | undefined> {
  const { gitdir } = components
  const { info, commit, n, history, hypothesis, bold, notes } = args
  // A function, not a narrowed property: the signal may abort while the files are read or the agent works.
  const stopped = (): boolean => options.signal?.aborted === true
  const files = await editableFiles(gitdir, info.manifest, commit)
  // Stopped while the files were read (a proposal made ahead, dropped at once): the agent is not started.
  if (stopped()) return undefined
  let proposal: Proposal | null
  try {
    proposal = await components.agent.propose({
      manifest: info.manifest, program: info.program, files, recent: components.results.read().slice(-20), signal: options.signal,
      network: history?.experiments ?? [], tried: history?.tried ?? new Set(), digest: history?.digest ?? undefined,
      ...(hypothesis === undefined ? {} : { hypothesis }), ...(bold === true ? { bold } : {}), notes: notes ?? [],
      checkout: async (dir) => { await writeTreeTo(gitdir, commit, dir) }
    })
  } catch (err) {
    if (stopped()) {
      log('agent stopped: %e', err)
      return undefined
    }
    components.emit({ type: 'agent-error', n, ...describeError(err) })
    return undefined
  }
  if (proposal === null || Object.keys(proposal.edits).length === 0) {
    components.emit({ type: 'no-proposal', n })
    return undefined
  }
  const edits = Object.fromEntries(Object.entries(proposal.edits).filter(([path]) => isEditable(info.manifest, path)))
  // The description goes to the network with the run: no local path in it, and never empty.
  const description = publicText(proposal.description) || describeEdit(files, edits)
  return { edits, description, change: experimentDiff(files, edits), nearKey: nearKey(files, edits), ...(hypothesis === undefined ? {} : { hypothesis: hypothesis.id }) }
}
