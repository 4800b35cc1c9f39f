import { logger } from '@libp2p/logger'
import { isEditable, writeTreeTo, type InfoReply } from '@autoresearch/protocol'
import type { Proposal } from '../agents/types.ts'
import type { WorkerComponents } from '../components.ts'
import { describeError } from '../events.ts'
import { editableFiles } from './editable-files.ts'

const log = logger('autoresearch:worker:propose')

export interface ProposeArgs {
  info: Pick<InfoReply, 'manifest' | 'program'>
  /** The commit the agent improves (the local best). */
  commit: string
  /** The experiment's number, for events. */
  n: number
}

/**
 * Asks the agent for an edit of the local best. Returns only the edits to editable paths
 * (new files under an editable directory included), or undefined when there is nothing
 * to run: no proposal, or an agent that failed (that costs one experiment, never the loop).
 */
export async function propose (components: Pick<WorkerComponents, 'agent' | 'gitdir' | 'results' | 'emit'>, args: ProposeArgs, options: { signal?: AbortSignal } = {}): Promise<Proposal | undefined> {
  const { gitdir } = components
  const { info, commit, n } = args
  // A function, not a narrowed property: the signal may abort while the files are read or the agent works.
  const stopped = (): boolean => options.signal?.aborted === true
  const files = await editableFiles(gitdir, info.manifest, commit)
  // Stopped while the files were read (a proposal made ahead, dropped at once): the agent is not started.
  if (stopped()) return undefined
  let proposal: Proposal | null
  try {
    proposal = await components.agent.propose({
      manifest: info.manifest, program: info.program, files, recent: components.results.read().slice(-20), signal: options.signal,
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
  return { edits, description: proposal.description }
}
