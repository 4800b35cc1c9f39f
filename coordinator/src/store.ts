import Database from 'better-sqlite3'

export type CandidateState = 'queued' | 'verifying' | 'merged' | 'rejected' | 'stale' | 'rebased' | 'reverted'

export interface CandidateRow {
  seq: number
  commit_oid: string
  tree_oid: string
  parent_oid: string
  submitter: string
  claimed_metric: number
  description: string
  received_at: number
  state: CandidateState
  reason: string | null
  seeds: string
  receipt: string
  submission: string
  verdict: string | null
  /** For a coordinator-made rebase: the candidate it re-verifies (credit goes to that one's submitter). */
  origin_seq: number | null
  /** Verification rounds asked for so far (a near-tie or a split adds one). */
  rounds: number
}

export interface JobRow {
  id: number
  candidate_seq: number
  baseline_oid: string
  seeds: string
  verifier: string
  leased_at: number
  lease_expires_at: number
  state: 'leased' | 'done' | 'expired'
  round: number
}

/** How a job counts in open mode (a job without a role is an ordinary one). */
export type JobRole = 'shadow' | 'spot-check'

export interface MergeRow {
  seq: number
  commit_oid: string
  parent_oid: string | null
  candidate_seq: number | null
  metric: number | null
  baseline_metric: number | null
  merged_at: number
  kind: 'initial' | 'merge' | 'revert'
  reverted_at: number | null
}

export interface IdentityRow {
  public_key: string
  banned: number
  ban_reason: string | null
  accepted: number
  rejected: number
  contradicted: number
  verifier_agreed: number
  verifier_disagreed: number
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nonces (public_key TEXT NOT NULL, nonce TEXT NOT NULL, seen_at INTEGER NOT NULL, PRIMARY KEY (public_key, nonce));
CREATE TABLE IF NOT EXISTS candidates (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  commit_oid TEXT NOT NULL UNIQUE,
  tree_oid TEXT NOT NULL,
  parent_oid TEXT NOT NULL,
  submitter TEXT NOT NULL,
  claimed_metric REAL NOT NULL,
  description TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  state TEXT NOT NULL,
  reason TEXT,
  seeds TEXT NOT NULL,
  receipt TEXT NOT NULL,
  submission TEXT NOT NULL,
  verdict TEXT,
  origin_seq INTEGER,
  rounds INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS candidates_state ON candidates(state);
-- A tree has one submitter (the first); a coordinator rebase may carry the same tree onto a new best.
CREATE UNIQUE INDEX IF NOT EXISTS candidates_original_tree ON candidates(tree_oid) WHERE origin_seq IS NULL;
CREATE INDEX IF NOT EXISTS candidates_tree ON candidates(tree_oid);
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  candidate_seq INTEGER NOT NULL REFERENCES candidates(seq),
  baseline_oid TEXT NOT NULL,
  seeds TEXT NOT NULL,
  verifier TEXT NOT NULL,
  leased_at INTEGER NOT NULL,
  lease_expires_at INTEGER NOT NULL,
  state TEXT NOT NULL,
  round INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS attestations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id INTEGER NOT NULL UNIQUE REFERENCES jobs(id),
  candidate_seq INTEGER NOT NULL,
  verifier TEXT NOT NULL,
  body TEXT NOT NULL,
  signature TEXT NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS merges (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  commit_oid TEXT NOT NULL,
  parent_oid TEXT,
  candidate_seq INTEGER,
  metric REAL,
  baseline_metric REAL,
  merged_at INTEGER NOT NULL,
  kind TEXT NOT NULL DEFAULT 'merge',
  reverted_at INTEGER
);
CREATE TABLE IF NOT EXISTS identities (
  public_key TEXT PRIMARY KEY,
  banned INTEGER NOT NULL DEFAULT 0,
  ban_reason TEXT,
  accepted INTEGER NOT NULL DEFAULT 0,
  rejected INTEGER NOT NULL DEFAULT 0,
  contradicted INTEGER NOT NULL DEFAULT 0,
  verifier_agreed INTEGER NOT NULL DEFAULT 0,
  verifier_disagreed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS seed_pools (best_commit TEXT PRIMARY KEY, seeds TEXT NOT NULL);
-- Open verification: jobs that are not ordinary ('shadow': a newcomer's, never counted;
-- 'spot-check': a trusted key's, checked by another), and each judged agreement of a key
-- with the trusted verifiers of the same round.
CREATE TABLE IF NOT EXISTS job_roles (job_id INTEGER PRIMARY KEY REFERENCES jobs(id), role TEXT NOT NULL);
-- kind 'check': a shadow or spot-check job judged; 'outlier': outvoted among counting verifiers.
CREATE TABLE IF NOT EXISTS verifier_checks (id INTEGER PRIMARY KEY AUTOINCREMENT, job_id INTEGER NOT NULL REFERENCES jobs(id), kind TEXT NOT NULL, verifier TEXT NOT NULL, agreed INTEGER NOT NULL, checked_at INTEGER NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS verifier_checks_job ON verifier_checks(job_id, kind);
CREATE INDEX IF NOT EXISTS verifier_checks_verifier ON verifier_checks(verifier, agreed);
-- Refused submissions, charged to the sender's address and (once its signature and nonce
-- checked out) identity; a replay of a refused submission is charged to no identity twice.
CREATE TABLE IF NOT EXISTS refusals (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, address TEXT, public_key TEXT, nonce TEXT, error TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS refusals_nonce ON refusals(public_key, nonce) WHERE public_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS refusals_address ON refusals(address, at);
CREATE INDEX IF NOT EXISTS refusals_at ON refusals(at);
`

/**
 * The coordinator's SQLite database: the source of truth for receipts, jobs,
 * attestations and merges. The git ref follows it (see Coordinator.recover).
 */
export class Store {
  readonly db: Database.Database

  constructor (path: string) {
    this.db = new Database(path)
    // WAL + synchronous=FULL: a committed receipt survives a crash or power loss.
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = FULL')
    this.db.pragma('foreign_keys = ON')
    this.db.exec(SCHEMA)
  }

  close (): void {
    this.db.close()
  }

  getMeta (key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value
  }

  setMeta (key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value)
  }

  nonceSeen (publicKey: string, nonce: string): boolean {
    return this.db.prepare('SELECT 1 FROM nonces WHERE public_key = ? AND nonce = ?').get(publicKey, nonce) !== undefined
  }

  candidateByTree (tree: string): CandidateRow | undefined {
    return this.db.prepare('SELECT * FROM candidates WHERE tree_oid = ? ORDER BY seq LIMIT 1').get(tree) as CandidateRow | undefined
  }

  candidateByCommit (commit: string): CandidateRow | undefined {
    return this.db.prepare('SELECT * FROM candidates WHERE commit_oid = ?').get(commit) as CandidateRow | undefined
  }

  candidate (seq: number): CandidateRow | undefined {
    return this.db.prepare('SELECT * FROM candidates WHERE seq = ?').get(seq) as CandidateRow | undefined
  }

  candidates (): CandidateRow[] {
    return this.db.prepare('SELECT * FROM candidates ORDER BY seq').all() as CandidateRow[]
  }

  countsByState (): Record<string, number> {
    const rows = this.db.prepare('SELECT state, COUNT(*) AS n FROM candidates GROUP BY state').all() as Array<{ state: string, n: number }>
    return Object.fromEntries(rows.map((r) => [r.state, r.n]))
  }

  nextSeq (): number {
    const row = this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'candidates'").get() as { seq: number } | undefined
    return (row?.seq ?? 0) + 1
  }

  /** Records a receipt and its nonce in one transaction. */
  /** Records a receipt and its nonce (none for a coordinator-made rebase) in one transaction. */
  insertCandidate (row: Omit<CandidateRow, 'verdict' | 'reason' | 'rounds'>, nonce: string | null): void {
    this.db.transaction(() => {
      if (nonce !== null) this.db.prepare('INSERT INTO nonces (public_key, nonce, seen_at) VALUES (?, ?, ?)').run(row.submitter, nonce, row.received_at)
      this.db.prepare(`INSERT INTO candidates (seq, commit_oid, tree_oid, parent_oid, submitter, claimed_metric, description, received_at, state, seeds, receipt, submission, origin_seq)
        VALUES (@seq, @commit_oid, @tree_oid, @parent_oid, @submitter, @claimed_metric, @description, @received_at, @state, @seeds, @receipt, @submission, @origin_seq)`).run(row)
    })()
  }

  /** An identity's counters; one never seen has zeros (reading never writes: pages call this on GET). */
  identity (publicKey: string): IdentityRow {
    const row = this.db.prepare('SELECT * FROM identities WHERE public_key = ?').get(publicKey) as IdentityRow | undefined
    return row ?? { public_key: publicKey, banned: 0, ban_reason: null, accepted: 0, rejected: 0, contradicted: 0, verifier_agreed: 0, verifier_disagreed: 0 }
  }

  #ensureIdentity (publicKey: string): void {
    this.db.prepare('INSERT OR IGNORE INTO identities (public_key) VALUES (?)').run(publicKey)
  }

  identities (): IdentityRow[] {
    return this.db.prepare('SELECT * FROM identities ORDER BY public_key').all() as IdentityRow[]
  }

  /** Adds to an identity's counters (accepted, rejected, contradicted, verifier_agreed, verifier_disagreed). */
  bumpIdentity (publicKey: string, column: 'accepted' | 'rejected' | 'contradicted' | 'verifier_agreed' | 'verifier_disagreed', by = 1): void {
    this.#ensureIdentity(publicKey)
    this.db.prepare(`UPDATE identities SET ${column} = ${column} + ? WHERE public_key = ?`).run(by, publicKey)
  }

  setBanned (publicKey: string, banned: boolean, reason: string | null): void {
    this.#ensureIdentity(publicKey)
    this.db.prepare('UPDATE identities SET banned = ?, ban_reason = ? WHERE public_key = ?').run(banned ? 1 : 0, reason, publicKey)
  }

  /** Submissions of an identity's own (not coordinator rebases) received since `since`. */
  submissionsSince (publicKey: string, since: number): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM candidates WHERE submitter = ? AND origin_seq IS NULL AND received_at >= ?').get(publicKey, since) as { n: number }).n
  }

  /**
   * Records a refused submission; a (key, nonce) already recorded is charged to the address
   * only. Refusals from before `forgetBefore` count against nobody any more and are dropped,
   * so a flood of refusals costs the database no more than one window of them.
   */
  recordRefusal (r: { at: number, address: string | null, publicKey: string | null, nonce: string | null, error: string }, forgetBefore: number): void {
    this.db.prepare('DELETE FROM refusals WHERE at < ?').run(forgetBefore)
    const key = r.publicKey !== null && r.nonce !== null && this.db.prepare('SELECT 1 FROM refusals WHERE public_key = ? AND nonce = ?').get(r.publicKey, r.nonce) === undefined
    this.db.prepare('INSERT INTO refusals (at, address, public_key, nonce, error) VALUES (?, ?, ?, ?, ?)')
      .run(r.at, r.address, key ? r.publicKey : null, key ? r.nonce : null, r.error)
  }

  /** Refused submissions charged to an identity or an address since `since`. */
  refusalsSince (who: { publicKey: string } | { address: string }, since: number): number {
    const [column, value] = 'publicKey' in who ? ['public_key', who.publicKey] : ['address', who.address]
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM refusals WHERE ${column} = ? AND at >= ?`).get(value, since) as { n: number }).n
  }

  seedPool (bestCommit: string): number[] | undefined {
    const row = this.db.prepare('SELECT seeds FROM seed_pools WHERE best_commit = ?').get(bestCommit) as { seeds: string } | undefined
    return row === undefined ? undefined : JSON.parse(row.seeds) as number[]
  }

  setSeedPool (bestCommit: string, seeds: number[]): void {
    this.db.prepare('INSERT INTO seed_pools (best_commit, seeds) VALUES (?, ?) ON CONFLICT(best_commit) DO UPDATE SET seeds = excluded.seeds').run(bestCommit, JSON.stringify(seeds))
  }

  setCandidateState (seq: number, state: CandidateState, reason: string | null = null, verdict: unknown = undefined): void {
    this.db.prepare('UPDATE candidates SET state = ?, reason = ?, verdict = COALESCE(?, verdict) WHERE seq = ?')
      .run(state, reason, verdict === undefined ? null : JSON.stringify(verdict), seq)
  }

  job (id: number): JobRow | undefined {
    return this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined
  }

  jobsFor (candidateSeq: number): JobRow[] {
    return this.db.prepare('SELECT * FROM jobs WHERE candidate_seq = ? ORDER BY id').all(candidateSeq) as JobRow[]
  }

  insertJob (job: Omit<JobRow, 'id'>): number {
    return Number(this.db.prepare(`INSERT INTO jobs (candidate_seq, baseline_oid, seeds, verifier, leased_at, lease_expires_at, state, round)
      VALUES (@candidate_seq, @baseline_oid, @seeds, @verifier, @leased_at, @lease_expires_at, @state, @round)`).run(job).lastInsertRowid)
  }

  /** Marks leases past their end as expired and puts their candidates back in the queue. */
  expireLeases (now: number): number {
    return this.db.transaction(() => {
      const expired = this.db.prepare("SELECT * FROM jobs WHERE state = 'leased' AND lease_expires_at < ?").all(now) as JobRow[]
      for (const job of expired) {
        this.db.prepare("UPDATE jobs SET state = 'expired' WHERE id = ?").run(job.id)
        this.db.prepare("UPDATE candidates SET state = 'queued' WHERE seq = ? AND state = 'verifying'").run(job.candidate_seq)
      }
      return expired.length
    })()
  }

  attestationsFor (candidateSeq: number): Array<{ verifier: string, body: string, round: number, job_id: number }> {
    return this.db.prepare('SELECT a.verifier, a.body, j.round, a.job_id FROM attestations a JOIN jobs j ON j.id = a.job_id WHERE a.candidate_seq = ? ORDER BY a.id').all(candidateSeq) as Array<{ verifier: string, body: string, round: number, job_id: number }>
  }

  setJobRole (jobId: number, role: JobRole): void {
    this.db.prepare('INSERT INTO job_roles (job_id, role) VALUES (?, ?)').run(jobId, role)
  }

  /** Roles of a candidate's jobs that are not ordinary. */
  jobRoles (candidateSeq: number): Map<number, JobRole> {
    const rows = this.db.prepare('SELECT r.job_id, r.role FROM job_roles r JOIN jobs j ON j.id = r.job_id WHERE j.candidate_seq = ?').all(candidateSeq) as Array<{ job_id: number, role: JobRole }>
    return new Map(rows.map((r) => [r.job_id, r.role]))
  }

  /** Records a judgement of a job once per kind (a later one of the same job and kind is ignored). */
  recordCheck (jobId: number, kind: 'check' | 'outlier', verifier: string, agreed: boolean, at: number): void {
    this.db.prepare('INSERT OR IGNORE INTO verifier_checks (job_id, kind, verifier, agreed, checked_at) VALUES (?, ?, ?, ?, ?)').run(jobId, kind, verifier, agreed ? 1 : 0, at)
  }

  /**
   * A key's agreements since its last disagreement: what its standing rests on, read on
   * every lease and attestation, so counted in SQL rather than from the whole record.
   */
  agreementRun (publicKey: string): number {
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM verifier_checks WHERE verifier = ? AND agreed = 1
      AND id > COALESCE((SELECT MAX(id) FROM verifier_checks WHERE verifier = ? AND agreed = 0), 0)`).get(publicKey, publicKey) as { n: number }).n
  }

  /** A key's judgements, oldest first (true: agreed). */
  verifierChecks (publicKey: string): boolean[] {
    return (this.db.prepare('SELECT agreed FROM verifier_checks WHERE verifier = ? ORDER BY id').all(publicKey) as Array<{ agreed: number }>).map((r) => r.agreed === 1)
  }

  /** Shadow and spot-check jobs of a candidate already judged. */
  checkedJobs (candidateSeq: number): Set<number> {
    const rows = this.db.prepare("SELECT c.job_id FROM verifier_checks c JOIN jobs j ON j.id = c.job_id WHERE j.candidate_seq = ? AND c.kind = 'check'").all(candidateSeq) as Array<{ job_id: number }>
    return new Set(rows.map((r) => r.job_id))
  }

  /** Verification runs per verifier key: two per trial (baseline and candidate). */
  verificationRuns (): Array<{ verifier: string, runs: number }> {
    const rows = this.db.prepare('SELECT verifier, body FROM attestations').all() as Array<{ verifier: string, body: string }>
    const runs = new Map<string, number>()
    for (const r of rows) runs.set(r.verifier, (runs.get(r.verifier) ?? 0) + 2 * (JSON.parse(r.body) as { trials: unknown[] }).trials.length)
    return [...runs].map(([verifier, n]) => ({ verifier, runs: n }))
  }

  merges (): MergeRow[] {
    return this.db.prepare('SELECT * FROM merges ORDER BY seq').all() as MergeRow[]
  }

  /** Verified merges that still stand (not reverted), oldest first. */
  standingMerges (): MergeRow[] {
    return this.db.prepare("SELECT * FROM merges WHERE kind = 'merge' AND reverted_at IS NULL ORDER BY seq").all() as MergeRow[]
  }

  lastMerge (): MergeRow | undefined {
    return this.db.prepare('SELECT * FROM merges ORDER BY seq DESC LIMIT 1').get() as MergeRow | undefined
  }

  isMergedCommit (commit: string): boolean {
    return this.db.prepare('SELECT 1 FROM merges WHERE commit_oid = ?').get(commit) !== undefined
  }

  /** The merge of `commit` if the operator reverted it. */
  revertedMerge (commit: string): MergeRow | undefined {
    return this.db.prepare("SELECT * FROM merges WHERE commit_oid = ? AND kind = 'merge' AND reverted_at IS NOT NULL ORDER BY seq DESC LIMIT 1").get(commit) as MergeRow | undefined
  }

  insertMerge (row: Omit<MergeRow, 'seq' | 'reverted_at'>): number {
    return Number(this.db.prepare(`INSERT INTO merges (commit_oid, parent_oid, candidate_seq, metric, baseline_metric, merged_at, kind)
      VALUES (@commit_oid, @parent_oid, @candidate_seq, @metric, @baseline_metric, @merged_at, @kind)`).run(row).lastInsertRowid)
  }

  transaction<T> (fn: () => T): T {
    return this.db.transaction(fn)()
  }
}
