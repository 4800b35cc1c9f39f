import { decideClaim, type Claim, type ClaimDecision } from './rules/claims.ts'

/** Claims held at most; past it the oldest are forgotten (a forgotten claim costs a duplicate run, nothing more). */
const MAX_CLAIMS = 100_000

export const editKey = (best: string, diffHash: string): string => `edit:${best}:${diffHash}`
export const hypothesisKey = (id: number): string => `hypothesis:${id}`

/**
 * The claims workers hold on edits and hypotheses, in memory: a claim lives minutes, and one
 * lost in a restart costs at most a run two workers make of the same edit. Reports release
 * what they tested.
 */
export class Claims {
  readonly #held = new Map<string, Claim>()

  claim (key: string, wanted: Omit<Claim, 'expiresAt'>, now: number, ttlMs: number): ClaimDecision {
    const decision = decideClaim(this.#held.get(key), wanted, now, ttlMs)
    if (decision.granted) {
      this.#held.delete(key)
      this.#held.set(key, decision.claim)
      if (this.#held.size > MAX_CLAIMS) this.#sweep(now)
      if (this.#held.size > MAX_CLAIMS) this.#held.delete(this.#held.keys().next().value as string)
    }
    return decision
  }

  release (key: string): void {
    this.#held.delete(key)
  }

  /** The claim on `key`, while it holds. */
  holder (key: string, now: number): Claim | undefined {
    const c = this.#held.get(key)
    return c !== undefined && c.expiresAt > now ? c : undefined
  }

  /** Unexpired claims by others on edits of `best` with `nearKey` (same files, constants and direction). */
  near (best: string, nearKey: string, except: string, now: number): Claim[] {
    return [...this.#held.values()].filter((c) => c.best === best && c.nearKey === nearKey && c.worker !== except && c.expiresAt > now)
  }

  #sweep (now: number): void {
    for (const [key, c] of this.#held) if (c.expiresAt <= now) this.#held.delete(key)
  }
}
