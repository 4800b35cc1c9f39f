import { z } from 'zod'
import { StoreBase } from './base.ts'
import { decodeIdentity, decodeSeeds, maybe, type IdentityRow } from './rows.ts'

const HARDWARE_REFERENCE_KEY = 'hardware_reference_class'
const SPECULATION_WINDOW_KEY = 'speculation_window'
const Window = z.string().regex(/^\d{1,2}$/).transform(Number)

export type IdentityCounter = 'accepted' | 'rejected' | 'contradicted' | 'verifier_agreed' | 'verifier_disagreed'

/** Who may do what: nonces, identities' counters and bans, refusals, seed pools, the reference hardware class. */
export class LedgerStore extends StoreBase {
  nonceSeen (publicKey: string, nonce: string): boolean {
    return this.sql('SELECT 1 FROM nonces WHERE public_key = ? AND nonce = ?').get(publicKey, nonce) !== undefined
  }

  /** An identity's counters; one never seen has zeros (reading never writes: pages call this on GET). */
  identity (publicKey: string): IdentityRow {
    return maybe(decodeIdentity)(this.sql('SELECT * FROM identities WHERE public_key = ?').get(publicKey)) ??
      { public_key: publicKey, banned: 0, ban_reason: null, accepted: 0, rejected: 0, contradicted: 0, verifier_agreed: 0, verifier_disagreed: 0 }
  }

  #ensureIdentity (publicKey: string): void {
    this.sql('INSERT OR IGNORE INTO identities (public_key) VALUES (?)').run(publicKey)
  }

  identities (): IdentityRow[] {
    return this.sql('SELECT * FROM identities ORDER BY public_key').all().map(decodeIdentity)
  }

  /** Adds to one of an identity's counters. */
  bumpIdentity (publicKey: string, column: IdentityCounter, by = 1): void {
    this.#ensureIdentity(publicKey)
    this.sql(`UPDATE identities SET ${column} = ${column} + ? WHERE public_key = ?`).run(by, publicKey)
  }

  setBanned (publicKey: string, banned: boolean, reason: string | null): void {
    this.#ensureIdentity(publicKey)
    this.sql('UPDATE identities SET banned = ?, ban_reason = ? WHERE public_key = ?').run(banned ? 1 : 0, reason, publicKey)
  }

  /**
   * Records a refused submission; a (key, nonce) already recorded is charged to the address
   * only. Refusals from before `forgetBefore` count against nobody any more and are dropped,
   * so a flood of refusals costs the database no more than one window of them.
   */
  recordRefusal (r: { at: number, address: string | null, publicKey: string | null, nonce: string | null, error: string }, forgetBefore: number): void {
    this.sql('DELETE FROM refusals WHERE at < ?').run(forgetBefore)
    const key = r.publicKey !== null && r.nonce !== null && this.sql('SELECT 1 FROM refusals WHERE public_key = ? AND nonce = ?').get(r.publicKey, r.nonce) === undefined
    this.sql('INSERT INTO refusals (at, address, public_key, nonce, error) VALUES (?, ?, ?, ?, ?)')
      .run(r.at, r.address, key ? r.publicKey : null, key ? r.nonce : null, r.error)
  }

  /** Refused submissions charged to an identity or an address since `since`. */
  refusalsSince (who: { publicKey: string } | { address: string }, since: number): number {
    const [column, value] = 'publicKey' in who ? ['public_key', who.publicKey] : ['address', who.address]
    return (this.sql(`SELECT COUNT(*) AS n FROM refusals WHERE ${column} = ? AND at >= ?`).get(value, since) as { n: number }).n
  }

  seedPool (bestCommit: string): number[] | undefined {
    const row = this.sql('SELECT seeds FROM seed_pools WHERE best_commit = ?').get(bestCommit) as { seeds: string } | undefined
    return row === undefined ? undefined : decodeSeeds(row.seeds)
  }

  setSeedPool (bestCommit: string, seeds: number[]): void {
    this.sql('INSERT INTO seed_pools (best_commit, seeds) VALUES (?, ?) ON CONFLICT(best_commit) DO UPDATE SET seeds = excluded.seeds').run(bestCommit, JSON.stringify(seeds))
  }

  /** The reference hardware class recorded for a cause verified per class (rules/hardware-class.ts); undefined until one is. */
  hardwareReference (): string | undefined {
    return this.getMeta(HARDWARE_REFERENCE_KEY)
  }

  recordHardwareReference (cls: string): void {
    this.setMeta(HARDWARE_REFERENCE_KEY, cls)
  }

  /** The speculation window at the last verdict (speculate.ts), or undefined before the first (or when the stored value is not a window). */
  speculationWindow (): number | undefined {
    const parsed = Window.safeParse(this.getMeta(SPECULATION_WINDOW_KEY))
    return parsed.success ? parsed.data : undefined
  }

  setSpeculationWindow (window: number): void {
    this.setMeta(SPECULATION_WINDOW_KEY, String(window))
  }

  /** Forgets the recorded reference class: the next counting verifier to ask for work sets it again. */
  forgetHardwareReference (): void {
    this.sql('DELETE FROM meta WHERE key = ?').run(HARDWARE_REFERENCE_KEY)
  }
}
