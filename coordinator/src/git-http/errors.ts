import { SiteHttpError } from '../site/errors.ts'

/**
 * The git endpoints' refusals. The git client prints the status line only
 * ("The requested URL returned error: 403"), so each message is also in the
 * plain-text body for curl and logs.
 */

/** Only fetches are served: `git push` is answered 403. */
export class ReadOnlyRepository extends SiteHttpError {
  override name = 'ReadOnlyRepository'
  constructor () { super(403, 'Read-only', 'this repository is read-only: the best moves only by verified merges; submit your change with a worker') }
}

/** A service other than git-upload-pack, or none (the dumb protocol is not served). */
export class UnknownGitService extends SiteHttpError {
  override name = 'UnknownGitService'
  constructor (service: string) { super(400, 'Bad request', `unsupported git service ${JSON.stringify(service.slice(0, 40))}; only git-upload-pack (git clone, git fetch) is served`) }
}

export class GitRequestTooLarge extends SiteHttpError {
  override name = 'GitRequestTooLarge'
  constructor (limit: number) { super(413, 'Request too large', `a git-upload-pack request may hold ${limit} bytes at most (after gzip is undone); fetch into a fresh clone instead`) }
}

export class BadGitRequest extends SiteHttpError {
  override name = 'BadGitRequest'
  constructor (message: string) { super(400, 'Bad request', message) }
}

/** Every upload-pack slot is taken: the client retries later. */
export class GitBusy extends SiteHttpError {
  override name = 'GitBusy'
  constructor (retryAfterSeconds: number) { super(503, 'Busy', `too many git fetches at once; retry in ${retryAfterSeconds} s`, { 'Retry-After': String(retryAfterSeconds) }) }
}

/** The host has no `git` on its PATH: the coordinator serves its site but not clones. */
export class GitUnavailable extends SiteHttpError {
  override name = 'GitUnavailable'
  constructor () { super(503, 'Git unavailable', 'this coordinator cannot serve git: its host has no git binary on the PATH (the operator installs git, e.g. apt-get install git)') }
}

export class GitTimedOut extends SiteHttpError {
  override name = 'GitTimedOut'
  constructor (seconds: number) { super(504, 'Timed out', `git-upload-pack ran past ${seconds} s and was stopped; retry, or fetch less at once`) }
}
