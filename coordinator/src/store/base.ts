import Database from 'better-sqlite3'
import { MigrationError, migrate, SCHEMA_VERSION } from './migrations.ts'

/** Tables a test may read whole, each in its key's order (see `dump`). */
const TABLES = {
  candidates: 'seq', nonces: 'public_key, nonce', jobs: 'id', attestations: 'id', merges: 'seq', identities: 'public_key', seed_pools: 'best_commit', meta: 'key', experiments: 'seq', hypotheses: 'id', digests: 'seq'
} as const

/**
 * The database handle and what concerns the whole file. The Store's methods are layered
 * on it a table group per file (ledger.ts, jobs.ts, index.ts); `db` stays inside them.
 */
export interface StoreOptions {
  /**
   * Open an existing, up-to-date database without writing to it: a look at a home whose
   * coordinator runs in another process (the crash bench). No migration runs.
   */
  readonly?: boolean
}

export class StoreBase {
  protected readonly db: Database.Database
  /** Statements by their SQL: preparing one costs more than running it, and the same few run on every request. */
  readonly #statements = new Map<string, Database.Statement>()

  /** The prepared statement for `text`, prepared once per store. */
  protected sql (text: string): Database.Statement {
    let statement = this.#statements.get(text)
    if (statement === undefined) {
      statement = this.db.prepare(text)
      this.#statements.set(text, statement)
    }
    return statement
  }

  constructor (path: string, opts: StoreOptions = {}) {
    if (opts.readonly === true) {
      this.db = new Database(path, { readonly: true, fileMustExist: true })
      const version = this.schemaVersion()
      if (version !== SCHEMA_VERSION) throw new MigrationError(`the database is at schema version ${version}, not ${SCHEMA_VERSION}: open it once read-write to migrate it`)
      return
    }
    this.db = new Database(path)
    // WAL + synchronous=FULL: a committed receipt survives a crash or power loss.
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = FULL')
    this.db.pragma('foreign_keys = ON')
    migrate(this.db)
  }

  /** Whether the database is still open (the site's streams stop when it closes). */
  get open (): boolean {
    return this.db.open
  }

  close (): void {
    this.db.close()
  }

  transaction<T> (fn: () => T): T {
    return this.db.transaction(fn)()
  }

  /** The schema version the database is at (PRAGMA user_version, see migrations.ts). */
  schemaVersion (): number {
    return this.db.pragma('user_version', { simple: true }) as number
  }

  /** A table's indexes, by name (what the migrations' tests check). */
  indexes (table: keyof typeof TABLES): Array<{ name: string, unique: boolean, partial: boolean }> {
    return (this.db.pragma(`index_list(${table})`) as Array<{ name: string, unique: number, partial: number }>)
      .map((i) => ({ name: i.name, unique: i.unique === 1, partial: i.partial === 1 }))
      .sort((a, b) => a.name.localeCompare(b.name))
  }

  /** Every row of a table as stored, undecoded: what tests compare to show a refused request changed nothing. */
  dump (table: keyof typeof TABLES): Array<Record<string, unknown>> {
    return this.sql(`SELECT * FROM ${table} ORDER BY ${TABLES[table]}`).all() as Array<Record<string, unknown>>
  }

  getMeta (key: string): string | undefined {
    return (this.sql('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value
  }

  setMeta (key: string, value: string): void {
    this.sql('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value)
  }
}
