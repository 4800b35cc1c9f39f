import { decideClaim, type Claim, type ClaimDecision } from './rules/claims.ts'

/** Claims held at most; past it the oldest are forgotten (a forgotten claim costs a duplicate run, nothing more). */
const MAX_CLAIMS = 100_000

export const editKey = (best: string, diffHash: string): string => `edit:${best}:${diffHash}`
export const hypothesisKey = (id: number): string => `hypothesis:${id}`
const nearOf = (c: Pick<Claim, 'best' | 'nearKey'>): string | undefined => c.nearKey === null ? undefined : `${c.best}\0${c.nearKey}`

/**
 * The claims workers hold on edits and hypotheses, in memory: a claim lives minutes, and one
 * lost in a restart costs at most a run two workers make of the same edit. Reports release
 * what they tested. Claims are also filed by best and near key, so a claim request looks only
 * at its near-duplicates, however many claims are held.
 */
export class Claims {
  readonly #held = new Map<string, Claim>()
  /** Keys of held claims by best and near key. */
  readonly #byNear = new Map<string, Set<string>>()

  claim (key: string, wanted: Omit<Claim, 'expiresAt'>, now: number, ttlMs: number): ClaimDecision {
    const decision = decideClaim(this.#held.get(key), wanted, now, ttlMs)
    if (decision.granted) {
      this.release(key)
      this.#held.set(key, decision.claim)
      const near = nearOf(decision.claim)
      if (near !== undefined) this.#byNear.set(near, (this.#byNear.get(near) ?? new Set()).add(key))
      if (this.#held.size > MAX_CLAIMS) this.#sweep(now)
      if (this.#held.size > MAX_CLAIMS) this.release(this.#held.keys().next().value as string)
    }
    return decision
  }

  release (key: string): void {
    const c = this.#held.get(key)
    if (c === undefined) return
    this.#held.delete(key)
    const near = nearOf(c)
    const keys = near === undefined ? undefined : this.#byNear.get(near)
    keys?.delete(key)
    if (near !== undefined && keys?.size === 0) this.#byNear.delete(near)
  }

  /** Gives `worker`'s own claim on `key` back; a claim held by someone else stays. */
  releaseOwn (key: string, worker: string): void {
    if (this.#held.get(key)?.worker === worker) this.release(key)
  }

  /** The claim on `key`, while it holds. */
  holder (key: string, now: number): Claim | undefined {
    const c = this.#held.get(key)
    return c !== undefined && c.expiresAt > now ? c : undefined
  }

  /** Unexpired claims by others on edits of `best` with `nearKey` (same files, constants and direction). */
  near (best: string, nearKey: string, except: string, now: number): Claim[] {
    const keys = this.#byNear.get(nearOf({ best, nearKey }) as string) ?? new Set<string>()
    return [...keys].map((k) => this.#held.get(k) as Claim).filter((c) => c.worker !== except && c.expiresAt > now)
  }

  #sweep (now: number): void {
    for (const [key, c] of this.#held) if (c.expiresAt <= now) this.release(key)
  }
}
