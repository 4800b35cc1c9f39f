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

/** The client's address already holds its share of the slots, so one address cannot take them all. */
export class GitClientBusy extends SiteHttpError {
  override name = 'GitClientBusy'
  constructor (perClient: number, retryAfterSeconds: number) {
    super(503, 'Busy', `your address already runs ${perClient} git fetch${perClient === 1 ? '' : 'es'} at once, the most one address may; retry in ${retryAfterSeconds} s, once one has finished`, { 'Retry-After': String(retryAfterSeconds) })
  }
}

/** The request body stopped arriving (or dripped past the total time), so it was not waited for. */
export class GitRequestTimedOut extends SiteHttpError {
  override name = 'GitRequestTimedOut'
  constructor (why: string) { super(408, 'Request timeout', `the git-upload-pack request did not arrive in time: ${why}; retry`) }
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

/** Upload-pack's answer moved no bytes for the idle limit (git hung, or the client stopped reading). */
export class GitStalled extends SiteHttpError {
  override name = 'GitStalled'
  constructor (seconds: number) { super(504, 'Timed out', `git-upload-pack moved no bytes for ${seconds} s and was stopped; retry`) }
}
