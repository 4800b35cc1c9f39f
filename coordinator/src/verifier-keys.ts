import { PublicKeyHex, UsageError } from '@autoresearch/protocol'
import type { Config } from './home.ts'

/** `verifiers add|remove` was given something that is not an Ed25519 public key in hex. */
export class InvalidVerifierKeyError extends UsageError { override name = 'InvalidVerifierKeyError' }
/** `verifiers add` of a key already on the list. */
export class VerifierAlreadyListedError extends UsageError { override name = 'VerifierAlreadyListedError' }
/** `verifiers remove` of a key not on the list. */
export class VerifierNotListedError extends UsageError { override name = 'VerifierNotListedError' }
/** `verifiers remove` of the only key left: nothing could verify, so nothing would ever merge. */
export class LastVerifierError extends UsageError { override name = 'LastVerifierError' }

export function verifierKey (key: string): string {
  const parsed = PublicKeyHex.safeParse(key.trim())
  if (!parsed.success) throw new InvalidVerifierKeyError(`"${key}" is not a verifier's public key (64 lowercase hex digits, as the verifier prints at start-up and its identity file holds)`)
  return parsed.data
}

/** The config with `key` added to the verifiers whose attestations count. */
export function addVerifier (config: Config, key: string): Config {
  const k = verifierKey(key)
  if (config.verifiers.includes(k)) throw new VerifierAlreadyListedError(`${k} is already a verifier of this cause`)
  return { ...config, verifiers: [...config.verifiers, k] }
}

/** The config without `key`; the last key stays (a cause without a verifier never merges). */
export function removeVerifier (config: Config, key: string): Config {
  const k = verifierKey(key)
  if (!config.verifiers.includes(k)) throw new VerifierNotListedError(`${k} is not a verifier of this cause (see: autoresearch-coordinator verifiers list)`)
  if (config.verifiers.length === 1) throw new LastVerifierError(`${k} is the only verifier left; add another first (autoresearch-coordinator verifiers add <key>), then remove this one`)
  return { ...config, verifiers: config.verifiers.filter((v) => v !== k) }
}
