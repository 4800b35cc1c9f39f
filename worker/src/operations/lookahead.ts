import { logger } from '@libp2p/logger'
import type { WorkerComponents } from '../components.ts'
import { propose, type ProposeArgs, type Proposed } from './propose.ts'

const log = logger('autoresearch:worker:lookahead')

/** Where a proposal was made: the best and the local best it edits. */
export interface ProposedOn { base: string, local: string }

/** Whether a proposal made ahead still applies: the agent edited the very files the next experiment starts from. */
export const stillApplies = (made: ProposedOn, now: ProposedOn): boolean => made.base === now.base && made.local === now.local

/**
 * The agent's next proposal, asked for while the current experiment (and its confirmation)
 * run: a slow agent (a hosted model, a CLI agent) no longer leaves the machine idle between
 * runs. The proposal is made without the result of the run in flight, and is used only when
 * that run changed nothing: a keep or a new best moves the files it edits, and it is dropped
 * (most runs are discards, so most proposals made ahead are used). One at a time.
 */
export class Lookahead {
  #next?: { on: ProposedOn, proposal: Promise<Proposed | undefined>, abort: AbortController }

  /** Asks the agent now for the experiment after the one about to run. */
  start (components: Pick<WorkerComponents, 'agent' | 'gitdir' | 'results' | 'emit'>, args: ProposeArgs & { base: string }, options: { signal?: AbortSignal } = {}): void {
    const abort = new AbortController()
    const signal = options.signal === undefined ? abort.signal : AbortSignal.any([options.signal, abort.signal])
    // propose() turns every agent failure into an event and undefined: this promise never rejects.
    const proposal = propose(components, args, { signal })
    this.#next = { on: { base: args.base, local: args.commit }, proposal, abort }
  }

  /**
   * The proposal made ahead for `now`, if one was and it still applies (undefined within it:
   * the agent had none, as propose() returns); `{ stale }` when there is none to use.
   */
  async take (now: ProposedOn): Promise<{ proposal: Proposed | undefined } | { stale: boolean }> {
    const next = this.#next
    this.#next = undefined
    if (next === undefined) return { stale: false }
    if (!stillApplies(next.on, now)) {
      next.abort.abort()
      await next.proposal
      log('dropped a proposal made on %s: the local best is %s now', next.on.local, now.local)
      return { stale: true }
    }
    return { proposal: await next.proposal }
  }

  /** Stops a proposal still in flight (the loop is ending) and waits for the agent to let go. */
  async cancel (): Promise<void> {
    const next = this.#next
    this.#next = undefined
    if (next === undefined) return
    next.abort.abort()
    await next.proposal
  }
}
