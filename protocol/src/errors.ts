/**
 * One Error subclass per condition, matched by `.name` (as in js-libp2p). Every
 * rejection the network sends carries `name` and a message a person can read.
 */
export class AutoresearchError extends Error {
  constructor (message: string, name: string) {
    super(message)
    this.name = name
  }
}

function errorClass (name: string) {
  const cls = class extends AutoresearchError {
    static readonly NAME = name
    constructor (message: string) { super(message, name) }
  }
  Object.defineProperty(cls, 'name', { value: name })
  return cls
}

export const InvalidMessageError = errorClass('InvalidMessageError')
export const MessageTooLargeError = errorClass('MessageTooLargeError')
export const TimeoutError = errorClass('TimeoutError')
export const InvalidSignatureError = errorClass('InvalidSignatureError')
export const ReplayedNonceError = errorClass('ReplayedNonceError')
export const StaleMessageError = errorClass('StaleMessageError')
export const WrongCauseError = errorClass('WrongCauseError')
export const UnknownParentError = errorClass('UnknownParentError')
export const UnknownCommitError = errorClass('UnknownCommitError')
export const ProtectedPathError = errorClass('ProtectedPathError')
export const ForbiddenEntryError = errorClass('ForbiddenEntryError')
export const CorruptPackError = errorClass('CorruptPackError')
export const PackTooLargeError = errorClass('PackTooLargeError')
/** A pack holds more objects than its commit can use (over the count cap, or objects the commit does not reach). */
export const TooManyObjectsError = errorClass('TooManyObjectsError')
export const DuplicateTreeError = errorClass('DuplicateTreeError')
export const EmptyChangeError = errorClass('EmptyChangeError')
export const NotAuthorizedError = errorClass('NotAuthorizedError')
export const UnknownJobError = errorClass('UnknownJobError')
export const UnknownCandidateError = errorClass('UnknownCandidateError')
export const LeaseExpiredError = errorClass('LeaseExpiredError')
export const InvalidManifestError = errorClass('InvalidManifestError')
export const BannedError = errorClass('BannedError')
export const QuotaExceededError = errorClass('QuotaExceededError')
export const StaleParentError = errorClass('StaleParentError')
export const RemoteError = errorClass('RemoteError')
export const StorageFullError = errorClass('StorageFullError')

const STORAGE_FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL'])

/** A full disk (file system or SQLite) as a StorageFullError the sender can act on; anything else unchanged. */
export function asStorageError (err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code !== 'string' || !STORAGE_FULL_CODES.has(code)) return err
  return new StorageFullError('the coordinator is out of disk space; nothing of this request was kept, try again later')
}

export interface WireError { name: string, message: string }

/** What a peer is told when its request fails: the class name and the reason, never a stack. */
export function toWireError (err: unknown): WireError {
  err = asStorageError(err)
  if (err instanceof AutoresearchError) return { name: err.name, message: err.message }
  return { name: 'InternalError', message: 'the coordinator failed to handle this request' }
}

/** Rebuilds a typed error from a peer's reply so callers can match on `.name`. */
export function fromWireError (wire: WireError): AutoresearchError {
  return new AutoresearchError(wire.message, wire.name)
}
