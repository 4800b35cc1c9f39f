import { BannedError, clientPrefix, QuotaExceededError } from '@autoresearch/protocol'
import type { IdentityRow, Store } from './store/index.ts'

/** BOINC-style daily quota: grows with accepted candidates, shrinks with rejected and contradicted ones. */
export const QUOTA = { base: 20, perAccepted: 2, perRejected: 1, perContradicted: 4, min: 1, max: 500, windowMs: 24 * 3600 * 1000 }

export function dailyQuota (identity: IdentityRow): number {
  const q = QUOTA.base + QUOTA.perAccepted * identity.accepted - QUOTA.perRejected * identity.rejected - QUOTA.perContradicted * identity.contradicted
  return Math.max(QUOTA.min, Math.min(QUOTA.max, q))
}

/**
 * Refused submissions are not free. Each is charged to the address it came from and, once
 * its signature and nonce checked out, to its identity: `perSubmission` refusals use one
 * submission of the daily quota (a refusal costs a parse in memory, a receipt costs
 * verification runs, and an honest worker may lose a race for a tree now and then). Keys
 * are free, so the address is the real bound: past `perAddress` refusals in `windowMs`,
 * every submission from it is refused until the window moves on.
 */
export const REFUSALS = { perSubmission: 4, perAddress: 120, windowMs: 3600 * 1000, /** the longest window a refusal counts in: the identity's quota window */ keepMs: QUOTA.windowMs }

/** Submissions an identity used in the quota window: receipts, and its refusals at their share. */
export function quotaUsed (store: Pick<Store, 'submissionsSince' | 'refusalsSince'>, publicKey: string, now = Date.now()): number {
  const since = now - QUOTA.windowMs
  return store.submissionsSince(publicKey, since) + store.refusalsSince({ publicKey }, since) / REFUSALS.perSubmission
}

/**
 * The address a peer's refusals are charged to: an IPv4 address, or an IPv6 /64 (one
 * subscriber's network); null for transports without one.
 */
export function addressKey (remoteAddr: string | undefined): string | null {
  const [, proto, host] = (remoteAddr ?? '').split('/')
  if (host === undefined || host === '' || (proto !== 'ip4' && proto !== 'ip6')) return null
  // The same "one client" as the libp2p node's per-address caps and the site's limits.
  return clientPrefix(host)
}

/** Refuses every submission from an address that had `perAddress` refusals in the window. */
export function assertAddressMaySubmit (store: Pick<Store, 'refusalsSince'>, address: string | null, perAddress = REFUSALS.perAddress, now = Date.now()): void {
  if (address === null) return
  const refused = store.refusalsSince({ address }, now - REFUSALS.windowMs)
  if (refused >= perAddress) {
    throw new QuotaExceededError(`${refused} submissions from ${address} were refused in the last ${REFUSALS.windowMs / 60000} minutes (the limit is ${perAddress}); wait before sending more`)
  }
}

/** Ban and quota, checked at intake before a pack is even parsed. */
export function assertMaySubmit (store: Pick<Store, 'identity' | 'submissionsSince' | 'refusalsSince'>, publicKey: string, now = Date.now()): void {
  const identity = store.identity(publicKey)
  if (identity.banned === 1) throw new BannedError(`identity ${publicKey.slice(0, 16)}… is banned from this cause${identity.ban_reason === null ? '' : `: ${identity.ban_reason}`}`)
  const quota = dailyQuota(identity)
  const used = quotaUsed(store, publicKey, now)
  if (used >= quota) {
    throw new QuotaExceededError(`identity ${publicKey.slice(0, 16)}… has used its quota of ${quota} submissions per 24 h (${identity.accepted} accepted, ${identity.rejected} rejected, ${identity.contradicted} contradicted claims); accepted candidates raise it`)
  }
}

/** Open verification: a verifier's attestations stop counting at this reputation (two disagreements, each -2, one agreement +1). */
export const VERIFIER_REPUTATION_FLOOR = -3

export function verifierReputation (identity: IdentityRow): number {
  return identity.verifier_agreed - 2 * identity.verifier_disagreed
}

/**
 * Open verification without a Sybil hole (rules/verifier-trust.ts): a new key's jobs are
 * shadow jobs until it agreed with trusted verifiers `agreementsToTrust` times in a row
 * (config `trustAfterAgreements`); trusted keys are spot-checked at no less than
 * `spotCheckFloor`; at most `shadowsPerRound` shadow jobs per candidate and round, so a
 * swarm of keys cannot make the coordinator store without bound.
 */
export const OPEN_VERIFICATION = { agreementsToTrust: 5, spotCheckFloor: 0.1, shadowsPerRound: 4 }

/** Verification rounds a candidate may get in all (a near-tie or a split adds one). */
export const MAX_ROUNDS = 3
