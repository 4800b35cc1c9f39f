import { logger } from '@libp2p/logger'
import type { NearExperiment } from '@autoresearch/protocol'
import type { WorkerComponents } from '../components.ts'
import { describeError } from '../events.ts'
import { findLeaks, publicText } from '../secrets.ts'
import type { KnownHistory } from './history.ts'
import type { Proposed } from './propose.ts'

const log = logger('autoresearch:worker:vet')

/** Proposals in a row that are not run before the agent's turn counts as a proposal of nothing. */
export const MAX_REPEATS = 3

export type Vetting =
  /** `unclaimed`: the claim could not be made (why), and the edit runs anyway. */
  | { run: true, near: NearExperiment[], unclaimed?: { error: string, message: string } }
  | { run: false, by: 'self' | 'network' | 'claimed', reason: string }

/** Who already tried an edit on this best, as the worker knows: itself, the network, or no one (undefined). */
export function repeatOf (history: KnownHistory | undefined, diffHash: string): 'self' | 'network' | undefined {
  if (history === undefined || !history.tried.has(diffHash)) return undefined
  return history.own.has(diffHash) ? 'self' : 'network'
}

/**
 * Whether a proposal should run: not when its edit was tried on this best (what the worker
 * knows first, then the coordinator's claim answer), nor while another worker holds a claim on
 * it. A granted claim comes with the near-duplicates tried or claimed on the best. A
 * coordinator that cannot answer a claim (an older one, or gone) does not stop the run.
 */
export async function vet (components: Pick<WorkerComponents, 'client' | 'identity' | 'secrets'>, args: { causeId: string, best: string, proposal: Proposed, history?: KnownHistory, claim?: boolean }, options: { signal?: AbortSignal } = {}): Promise<Vetting> {
  const { proposal } = args
  const by = repeatOf(args.history, proposal.change.diffHash)
  if (by !== undefined) return { run: false, by, reason: by === 'self' ? 'this worker tried it on this best' : 'tried on this best by the network' }
  if (args.claim === false) return { run: true, near: [] }
  try {
    // Other workers see a claim's description: one that would carry a secret is not sent.
    const description = findLeaks([{ path: 'the description', after: proposal.description }], components.secrets).length === 0 ? publicText(proposal.description) : '(withheld)'
    const reply = await components.client.claim(components.identity, args.causeId, {
      best: args.best, diffHash: proposal.change.diffHash, description,
      ...(proposal.nearKey === null ? {} : { nearKey: proposal.nearKey })
    }, options)
    if (!reply.granted) return { run: false, by: 'claimed', reason: reply.reason ?? 'claimed by another worker' }
    return { run: true, near: reply.near }
  } catch (err) {
    if (options.signal?.aborted === true) throw err
    log('the claim could not be made, running anyway: %e', err)
    return { run: true, near: [], unclaimed: describeError(err) }
  }
}

/**
 * Gives back the claim `vet` was granted on a proposal the worker will not run (the agent is
 * asked for another): the edit is then free for other workers at once, not only when the claim
 * runs out minutes later. Best-effort: a coordinator that cannot answer leaves the claim to run out.
 */
export async function unclaim (components: Pick<WorkerComponents, 'client' | 'identity'>, args: { causeId: string, best: string, proposal: Pick<Proposed, 'change'> }, options: { signal?: AbortSignal } = {}): Promise<void> {
  try {
    await components.client.claim(components.identity, args.causeId, { best: args.best, diffHash: args.proposal.change.diffHash, description: '(given back)', release: true }, options)
  } catch (err) {
    if (options.signal?.aborted === true) throw err
    log('the claim could not be given back; it runs out: %e', err)
  }
}

/** One line for the agent about edits close to its proposal. */
export function nearNote (description: string, near: NearExperiment[]): string {
  const list = near.slice(0, 5).map((e) => `"${e.description}" (${e.status}${e.metric === null ? '' : ` ${e.metric.toPrecision(6)}`})`).join(', ')
  return `"${description}" is close to edits already tried or claimed on this code (same constants, same direction): ${list}`
}
