import { logger } from '@libp2p/logger'
import { experimentDiff, isEditable, writeTreeTo, type ExperimentDiff, type InfoReply } from '@autoresearch/protocol'
import type { Proposal } from '../agents/types.ts'
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
  /** What the network tried on the best: shown to the agent, and an edit tried already is not run again. */
  history?: KnownHistory
}

/** A proposal of editable paths only, with its change as reports and the duplicate check see it. */
export interface Proposed extends Proposal { change: ExperimentDiff }

/** Proposals in a row that were already tried before the agent's turn counts as empty. */
export const MAX_REPEATS = 3

/**
 * Asks the agent for an edit of the local best. Returns only the edits to editable paths
 * (new files under an editable directory included), or undefined when there is nothing
 * to run: no proposal, or an agent that failed (that costs one experiment, never the loop).
 * An edit already tried on this best (by anyone, as `history` knows) is not run again: the
 * agent is told and asked for another, MAX_REPEATS times at most.
 */
export async function propose (components: Pick<WorkerComponents, 'agent' | 'gitdir' | 'results' | 'emit'>, args: ProposeArgs, options: { signal?: AbortSignal } = {}): Promise<Proposed | undefined> {
  const { gitdir } = components
  const { info, commit, n, history } = args
  // A function, not a narrowed property: the signal may abort while the files are read or the agent works.
  const stopped = (): boolean => options.signal?.aborted === true
  const files = await editableFiles(gitdir, info.manifest, commit)
  const repeated: string[] = []
  for (let turn = 0; turn <= MAX_REPEATS; turn++) {
    // Stopped while the files were read (a proposal made ahead, dropped at once): the agent is not started.
    if (stopped()) return undefined
    let proposal: Proposal | null
    try {
      proposal = await components.agent.propose({
        manifest: info.manifest, program: info.program, files, recent: components.results.read().slice(-20), signal: options.signal,
        network: history?.experiments ?? [], tried: history?.tried ?? new Set(), repeated: [...repeated],
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
    if (proposal === null || Object.keys(proposal.edits).length === 0) break
    const edits = Object.fromEntries(Object.entries(proposal.edits).filter(([path]) => isEditable(info.manifest, path)))
    const change = experimentDiff(files, edits)
    const by = repeatOf(history, change.diffHash)
    if (by === undefined) return { edits, description: proposal.description, change }
    components.emit({ type: 'duplicate', n, description: proposal.description, diffHash: change.diffHash, by })
    repeated.push(proposal.description)
  }
  components.emit({ type: 'no-proposal', n })
  return undefined
}

/** Who already tried an edit on this best: this worker, the network, or no one (undefined). */
export function repeatOf (history: KnownHistory | undefined, diffHash: string): 'self' | 'network' | undefined {
  if (history === undefined || !history.tried.has(diffHash)) return undefined
  return history.own.has(diffHash) ? 'self' : 'network'
}
