import { AutoresearchError, UsageError } from '@autoresearch/protocol'

// The worker's own conditions: local ones, never sent to a peer (they join the one
// hierarchy of protocol/src/errors.ts, matched by `.name`).

/** The network best fails on this machine (a broken environment here, or a cause that no longer runs): the loop cannot build on it. */
export class BestUnrunnableError extends AutoresearchError {
  override name = 'BestUnrunnableError'
  /** The best that failed: the loop waits for another (or retries it after a backoff). */
  readonly commit: string
  constructor (message: string, commit: string) {
    super(message)
    this.commit = commit
  }
}
/** A command agent that did not finish: stopped, no sandbox, ran past its time, or exited non-zero. */
export class AgentCommandError extends AutoresearchError { override name = 'AgentCommandError' }
export { AgentRequestError } from '@autoresearch/protocol'
/** A model's answer that is not a usable edit (malformed, a protected file, text that does not match). */
export class EditFormatError extends AutoresearchError { override name = 'EditFormatError' }
/** Another worker (or planner) on this machine uses the same state directory: the two would overwrite each other's state. */
export class StateInUseError extends UsageError { override name = 'StateInUseError' }
