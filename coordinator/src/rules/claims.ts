/** A worker's claim on an edit or a hypothesis. */
export interface Claim { worker: string, best: string, description: string, nearKey: string | null, expiresAt: number }

export type ClaimDecision = { granted: true, claim: Claim } | { granted: false, holder: Claim }

/**
 * Whether `worker` may hold what `existing` holds now: yes when nobody holds it, its claim
 * ran out, or it is the worker's own (renewed, its time starting again); otherwise the
 * holder keeps it.
 */
export function decideClaim (existing: Claim | undefined, wanted: Omit<Claim, 'expiresAt'>, now: number, ttlMs: number): ClaimDecision {
  if (existing !== undefined && existing.expiresAt > now && existing.worker !== wanted.worker) return { granted: false, holder: existing }
  return { granted: true, claim: { ...wanted, expiresAt: now + ttlMs } }
}
