import { BannedError, QuotaExceededError } from '@autoresearch/protocol'
import type { IdentityRow, Store } from './store.ts'

/** BOINC-style daily quota: grows with accepted candidates, shrinks with rejected and contradicted ones. */
export const QUOTA = { base: 20, perAccepted: 2, perRejected: 1, perContradicted: 4, min: 1, max: 500, windowMs: 24 * 3600 * 1000 }

export function dailyQuota (identity: IdentityRow): number {
  const q = QUOTA.base + QUOTA.perAccepted * identity.accepted - QUOTA.perRejected * identity.rejected - QUOTA.perContradicted * identity.contradicted
  return Math.max(QUOTA.min, Math.min(QUOTA.max, q))
}

/** Ban and quota, checked at intake before a pack is even stored. */
export function assertMaySubmit (store: Store, publicKey: string, now = Date.now()): void {
  const identity = store.identity(publicKey)
  if (identity.banned === 1) throw new BannedError(`identity ${publicKey.slice(0, 16)}… is banned from this cause${identity.ban_reason === null ? '' : `: ${identity.ban_reason}`}`)
  const quota = dailyQuota(identity)
  const used = store.submissionsSince(publicKey, now - QUOTA.windowMs)
  if (used >= quota) {
    throw new QuotaExceededError(`identity ${publicKey.slice(0, 16)}… has used its quota of ${quota} submissions per 24 h (${identity.accepted} accepted, ${identity.rejected} rejected, ${identity.contradicted} contradicted claims); accepted candidates raise it`)
  }
}

/** Open verification: a verifier's attestations stop counting at this reputation (two disagreements, each -2, one agreement +1). */
export const VERIFIER_REPUTATION_FLOOR = -3

export function verifierReputation (identity: IdentityRow): number {
  return identity.verifier_agreed - 2 * identity.verifier_disagreed
}

/** Verification rounds a candidate may get in all (a near-tie or a split adds one). */
export const MAX_ROUNDS = 3
