/**
 * One Error subclass per condition, matched by `.name` (as in js-libp2p):
 * `class X extends AutoresearchError { name = 'X' }`. Two branches:
 *
 * - a `WireError`'s name and message travel to the peer whose request failed, so the
 *   message is written for the person behind that peer;
 * - a `UsageError` is for the person at the keyboard (an operator's CLI, a bad flag, a
 *   damaged home): it never goes over the wire.
 */
export class AutoresearchError extends Error {
  override name = 'AutoresearchError'
}

/** A rejection that a peer is told about: name and message, never a stack. */
export class WireError extends AutoresearchError {
  override name = 'WireError'
}

/** A mistake of the operator or volunteer at the keyboard, shown to them as it is. */
export class UsageError extends AutoresearchError {
  override name = 'UsageError'
}

/** A key file that is unsafe (readable by others) or not an autoresearch key: the owner fixes it. */
export class InvalidKeyFileError extends UsageError { override name = 'InvalidKeyFileError' }

/** A stream that did not close cleanly is aborted with this (it stays on this side). */
export class StreamCloseError extends AutoresearchError { override name = 'StreamCloseError' }

export class InvalidMessageError extends WireError { override name = 'InvalidMessageError' }
export class MessageTooLargeError extends WireError { override name = 'MessageTooLargeError' }
export class TimeoutError extends WireError { override name = 'TimeoutError' }
export class InvalidSignatureError extends WireError { override name = 'InvalidSignatureError' }
export class ReplayedNonceError extends WireError { override name = 'ReplayedNonceError' }
export class StaleMessageError extends WireError { override name = 'StaleMessageError' }
export class WrongCauseError extends WireError { override name = 'WrongCauseError' }
export class UnknownParentError extends WireError { override name = 'UnknownParentError' }
export class UnknownCommitError extends WireError { override name = 'UnknownCommitError' }
export class ProtectedPathError extends WireError { override name = 'ProtectedPathError' }
export class ForbiddenEntryError extends WireError { override name = 'ForbiddenEntryError' }
export class CorruptPackError extends WireError { override name = 'CorruptPackError' }
export class PackTooLargeError extends WireError { override name = 'PackTooLargeError' }
/** A pack holds more objects than its commit can use (over the count cap, or objects the commit does not reach). */
export class TooManyObjectsError extends WireError { override name = 'TooManyObjectsError' }
export class DuplicateTreeError extends WireError { override name = 'DuplicateTreeError' }
export class EmptyChangeError extends WireError { override name = 'EmptyChangeError' }
export class NotAuthorizedError extends WireError { override name = 'NotAuthorizedError' }
export class UnknownJobError extends WireError { override name = 'UnknownJobError' }
export class UnknownCandidateError extends WireError { override name = 'UnknownCandidateError' }
export class LeaseExpiredError extends WireError { override name = 'LeaseExpiredError' }
export class InvalidManifestError extends WireError { override name = 'InvalidManifestError' }
export class BannedError extends WireError { override name = 'BannedError' }
export class QuotaExceededError extends WireError { override name = 'QuotaExceededError' }
export class StaleParentError extends WireError { override name = 'StaleParentError' }
export class StorageFullError extends WireError { override name = 'StorageFullError' }
/** A cause whose results depend on the machine (manifest `hardware.matters: "class"`) verifies only on its reference class; this verifier is of another. */
export class HardwareClassError extends WireError { override name = 'HardwareClassError' }
/** The peer failed in a way it did not name (its own bug): nothing the sender can correct. */
export class InternalError extends WireError { override name = 'InternalError' }
/** A peer's rejection whose name this version does not know; `name` is the peer's. */
export class RemoteError extends WireError { override name = 'RemoteError' }

const WIRE_ERRORS: ReadonlyArray<new (message: string) => WireError> = [
  InvalidMessageError, MessageTooLargeError, TimeoutError, InvalidSignatureError, ReplayedNonceError, StaleMessageError,
  WrongCauseError, UnknownParentError, UnknownCommitError, ProtectedPathError, ForbiddenEntryError, CorruptPackError,
  PackTooLargeError, TooManyObjectsError, DuplicateTreeError, EmptyChangeError, NotAuthorizedError, UnknownJobError,
  UnknownCandidateError, LeaseExpiredError, InvalidManifestError, BannedError, QuotaExceededError, StaleParentError,
  StorageFullError, InternalError, HardwareClassError
]
const BY_NAME = new Map(WIRE_ERRORS.map((cls) => [new cls('').name, cls]))

const STORAGE_FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL'])

/** Whether `err` is a full disk (file system or SQLite): the machine's condition, not the doing of what was being written. */
export function isStorageFull (err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && STORAGE_FULL_CODES.has(code)
}

/** A full disk (file system or SQLite) as a StorageFullError the sender can act on; anything else unchanged. */
export function asStorageError (err: unknown): unknown {
  if (!isStorageFull(err)) return err
  return new StorageFullError('the coordinator is out of disk space; nothing of this request was kept, try again later')
}

/** What a rejection looks like on the wire. */
export interface WireErrorBody { name: string, message: string }

/** What a peer is told when its request fails: the class name and the reason, never a stack. */
export function toWireError (err: unknown): WireErrorBody {
  err = asStorageError(err)
  if (err instanceof WireError) return { name: err.name, message: err.message }
  return { name: 'InternalError', message: 'the coordinator failed to handle this request' }
}

/** Rebuilds a typed error from a peer's reply so callers can match on `.name` (or `instanceof` for names this version knows). */
export function fromWireError (wire: WireErrorBody): WireError {
  const cls = BY_NAME.get(wire.name)
  if (cls !== undefined) return new cls(wire.message)
  const err = new RemoteError(wire.message)
  err.name = wire.name
  return err
}

/** An OpenAI-compatible endpoint that could not be reached or did not answer like one (chat.ts): the worker's agent, a planner, the reporter. */
export class AgentRequestError extends AutoresearchError { override name = 'AgentRequestError' }
