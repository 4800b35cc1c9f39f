import { UsageError } from '@autoresearch/protocol'
import type Database from 'better-sqlite3'

/** A database this version cannot bring up to date (made by a newer version, or damaged). */
export class MigrationError extends UsageError { override name = 'MigrationError' }

/**
 * Ordered schema changes, keyed on `PRAGMA user_version` (the number of migrations a
 * database has had). A home made before migrations existed is at 0 with some or all of
 * the tables of migration 1; each later migration brings such a home up to date. Append
 * a migration, never edit one that has shipped: homes already ran it.
 */

const candidatesTable = (name: string): string => `CREATE TABLE IF NOT EXISTS ${name} (
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
);`

/** The schema as it stood when migrations began (every statement tolerates tables already there). */
const SCHEMA_1 = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nonces (public_key TEXT NOT NULL, nonce TEXT NOT NULL, seen_at INTEGER NOT NULL, PRIMARY KEY (public_key, nonce));
${candidatesTable('candidates')}
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
 * Homes made before the tree-uniqueness fix (cc2c10c) declared `tree_oid ... UNIQUE` on the
 * whole table, so a rebase that reproduces its own tree failed there: rebuild the table
 * with uniqueness for submitted trees only (candidates_original_tree). Rows, seqs and the
 * AUTOINCREMENT counter are kept.
 */
function treeUniqueness (db: Database.Database): void {
  if (!tableWideUniqueTree(db)) return
  const sequence = (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'candidates'").get() as { seq: number } | undefined)?.seq
  const columns = 'seq, commit_oid, tree_oid, parent_oid, submitter, claimed_metric, description, received_at, state, reason, seeds, receipt, submission, verdict, origin_seq, rounds'
  db.exec(candidatesTable('candidates_rebuilt'))
  db.exec(`INSERT INTO candidates_rebuilt (${columns}) SELECT ${columns} FROM candidates`)
  db.exec('DROP TABLE candidates')
  db.exec('ALTER TABLE candidates_rebuilt RENAME TO candidates')
  if (sequence !== undefined) db.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'candidates'").run(sequence)
  db.exec(SCHEMA_1) // the table's indexes went with the old table
}

/** Whether a UNIQUE constraint covers tree_oid alone for every row (not the partial index of submitted trees). */
export function tableWideUniqueTree (db: Database.Database): boolean {
  const indexes = db.pragma('index_list(candidates)') as Array<{ name: string, unique: number, partial: number }>
  return indexes.some((i) => i.unique === 1 && i.partial === 0 &&
    (db.pragma(`index_info(${JSON.stringify(i.name)})`) as Array<{ name: string }>).map((c) => c.name).join() === 'tree_oid')
}

/**
 * Merge groups (coordinator/src/group.ts): the candidates combined into one group commit,
 * in queue order. A member is a candidate that passed against a best that has moved.
 */
const GROUPS = `
CREATE TABLE IF NOT EXISTS group_members (
  group_seq INTEGER NOT NULL REFERENCES candidates(seq),
  member_seq INTEGER NOT NULL REFERENCES candidates(seq),
  position INTEGER NOT NULL,
  PRIMARY KEY (group_seq, member_seq)
);
CREATE INDEX IF NOT EXISTS group_members_member ON group_members(member_seq);
`

/** The shared experiment log (issue [collab]): self-reported runs, read by best and in arrival order; planners' hypotheses; the reporter's digests. */
const EXPERIMENTS = `
CREATE TABLE IF NOT EXISTS experiments (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  worker TEXT NOT NULL,
  best_oid TEXT NOT NULL,
  commit_oid TEXT NOT NULL,
  status TEXT NOT NULL,
  metric REAL,
  noise REAL,
  seed INTEGER NOT NULL,
  description TEXT NOT NULL,
  diff TEXT NOT NULL,
  diff_hash TEXT NOT NULL,
  near_key TEXT,
  hypothesis INTEGER,
  hardware TEXT,
  reported_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS experiments_best ON experiments(best_oid, seq);
CREATE INDEX IF NOT EXISTS experiments_best_hash ON experiments(best_oid, diff_hash);
CREATE INDEX IF NOT EXISTS experiments_best_near ON experiments(best_oid, near_key) WHERE near_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS experiments_hypothesis ON experiments(hypothesis) WHERE hypothesis IS NOT NULL;
CREATE TABLE IF NOT EXISTS hypotheses (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  best_oid TEXT NOT NULL,
  text TEXT NOT NULL,
  author TEXT NOT NULL,
  posted_at INTEGER NOT NULL
);
-- A planner's text is stored once while open: intake looks it up by text.
CREATE INDEX IF NOT EXISTS hypotheses_text ON hypotheses(text);
CREATE TABLE IF NOT EXISTS digests (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  written_at INTEGER NOT NULL,
  text TEXT NOT NULL
);
`

/**
 * Lookups by candidate, by live lease, by parent, by origin and by submitter (issue
 * [throughput]): without them each lease turn scanned every job and attestation a cause ever
 * had once per open candidate, and each submission's quota check every candidate, so a
 * coordinator slowed as its history grew (docs/benchmarks.md, "History").
 */
const LOOKUPS = `
CREATE INDEX IF NOT EXISTS jobs_candidate ON jobs(candidate_seq);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, lease_expires_at);
CREATE INDEX IF NOT EXISTS attestations_candidate ON attestations(candidate_seq);
CREATE INDEX IF NOT EXISTS candidates_parent ON candidates(parent_oid, state);
CREATE INDEX IF NOT EXISTS candidates_origin ON candidates(origin_seq) WHERE origin_seq IS NOT NULL;
CREATE INDEX IF NOT EXISTS candidates_submitter ON candidates(submitter, received_at);
CREATE INDEX IF NOT EXISTS candidates_received ON candidates(received_at);
CREATE INDEX IF NOT EXISTS attestations_received ON attestations(received_at);
`

/**
 * What the public site reads after every change, kept as the rows change instead of computed
 * from the whole history each time (issue [throughput]; docs/benchmarks.md, "History"):
 * - `touched`: each candidate's change mark, the value of a counter bumped by each insert or
 *   update of the row and by each attestation of it, so the site decodes only the candidates
 *   changed since its last look (site/queries/candidates.ts);
 * - `submitter_states`: submissions (coordinator rebases left out) per submitter and state;
 * - `verifier_tallies`: verification runs per verifier (two per trial), its first and latest
 *   attestation.
 * Triggers, not the store's statements, keep them, so no write can forget one (attestations
 * and candidates are never deleted; a migration that rebuilds either table must create its
 * triggers again). Existing rows are counted once here.
 */
const TALLIES = `
ALTER TABLE candidates ADD COLUMN touched INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS candidates_touched ON candidates(touched);
CREATE TABLE IF NOT EXISTS marks (name TEXT PRIMARY KEY, n INTEGER NOT NULL);
INSERT OR IGNORE INTO marks (name, n) VALUES ('candidates', 0);
CREATE TABLE IF NOT EXISTS submitter_states (submitter TEXT NOT NULL, state TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (submitter, state));
INSERT INTO submitter_states (submitter, state, n) SELECT submitter, state, COUNT(*) FROM candidates WHERE origin_seq IS NULL GROUP BY submitter, state;
CREATE TABLE IF NOT EXISTS verifier_tallies (verifier TEXT PRIMARY KEY, runs INTEGER NOT NULL, first_id INTEGER NOT NULL, latest_id INTEGER NOT NULL);
INSERT INTO verifier_tallies (verifier, runs, first_id, latest_id)
  SELECT verifier, SUM(2 * json_array_length(body, '$.trials')), MIN(id), MAX(id) FROM attestations GROUP BY verifier;
CREATE TRIGGER IF NOT EXISTS candidates_inserted AFTER INSERT ON candidates BEGIN
  UPDATE marks SET n = n + 1 WHERE name = 'candidates';
  UPDATE candidates SET touched = (SELECT n FROM marks WHERE name = 'candidates') WHERE seq = NEW.seq;
  INSERT INTO submitter_states (submitter, state, n) SELECT NEW.submitter, NEW.state, 1 WHERE NEW.origin_seq IS NULL
    ON CONFLICT (submitter, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS candidates_updated AFTER UPDATE ON candidates WHEN NEW.touched = OLD.touched BEGIN
  UPDATE marks SET n = n + 1 WHERE name = 'candidates';
  UPDATE candidates SET touched = (SELECT n FROM marks WHERE name = 'candidates') WHERE seq = NEW.seq;
  UPDATE submitter_states SET n = n - 1 WHERE OLD.origin_seq IS NULL AND OLD.state != NEW.state AND submitter = OLD.submitter AND state = OLD.state;
  INSERT INTO submitter_states (submitter, state, n) SELECT NEW.submitter, NEW.state, 1 WHERE NEW.origin_seq IS NULL AND OLD.state != NEW.state
    ON CONFLICT (submitter, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS attestations_inserted AFTER INSERT ON attestations BEGIN
  UPDATE marks SET n = n + 1 WHERE name = 'candidates';
  UPDATE candidates SET touched = (SELECT n FROM marks WHERE name = 'candidates') WHERE seq = NEW.candidate_seq;
  INSERT INTO verifier_tallies (verifier, runs, first_id, latest_id) VALUES (NEW.verifier, 2 * json_array_length(NEW.body, '$.trials'), NEW.id, NEW.id)
    ON CONFLICT (verifier) DO UPDATE SET runs = runs + excluded.runs, latest_id = excluded.latest_id;
END;
`

/** Whether the commit `ref` names was never a best (not in merges): the one rule for `on_candidate`, at the backfill and in the trigger. */
const neverBest = (ref: string): string => `NOT EXISTS (SELECT 1 FROM merges m WHERE m.commit_oid = ${ref})`

/**
 * Whether a candidate stands on a commit that was never a best (speculation's copies on the
 * candidate in flight; issue [throughput]): set when the row is written, cleared when that
 * commit becomes a best (its merge row). A lease turn with speculation declared looks for
 * rejections measured on a base that then died (Store.rejectedOnDeadBases); with this it reads
 * those few through a partial index instead of every rejection the cause ever had.
 */
const ON_CANDIDATE = `
ALTER TABLE candidates ADD COLUMN on_candidate INTEGER NOT NULL DEFAULT 0;
UPDATE candidates SET on_candidate = 1 WHERE ${neverBest('candidates.parent_oid')};
CREATE INDEX IF NOT EXISTS candidates_rejected_on_candidate ON candidates(seq) WHERE on_candidate = 1 AND state = 'rejected';
CREATE TRIGGER IF NOT EXISTS candidates_on_candidate AFTER INSERT ON candidates WHEN ${neverBest('NEW.parent_oid')} BEGIN
  UPDATE candidates SET on_candidate = 1 WHERE seq = NEW.seq;
END;
CREATE TRIGGER IF NOT EXISTS merges_clear_on_candidate AFTER INSERT ON merges BEGIN
  UPDATE candidates SET on_candidate = 0 WHERE parent_oid = NEW.commit_oid AND on_candidate = 1;
END;
`

const MIGRATIONS: ReadonlyArray<(db: Database.Database) => void> = [
  (db) => { db.exec(SCHEMA_1) },
  treeUniqueness,
  (db) => { db.exec(GROUPS) },
  (db) => { db.exec(EXPERIMENTS) },
  (db) => { db.exec(LOOKUPS) },
  (db) => { db.exec(TALLIES) },
  (db) => { db.exec(ON_CANDIDATE) }
]

/** The user_version of a database every migration has reached. */
export const SCHEMA_VERSION = MIGRATIONS.length

/**
 * Runs the migrations a database has not had, each in its own transaction with its
 * version bump. Foreign keys are off meanwhile (a table rebuild drops a table others
 * reference) and checked before each commit.
 */
export function migrate (db: Database.Database): void {
  const from = db.pragma('user_version', { simple: true }) as number
  if (from > SCHEMA_VERSION) throw new MigrationError(`this database is at schema version ${from}, made by a newer coordinator (this one knows ${SCHEMA_VERSION})`)
  if (from === SCHEMA_VERSION) return
  db.pragma('foreign_keys = OFF')
  try {
    for (let version = from + 1; version <= SCHEMA_VERSION; version++) {
      db.transaction(() => {
        MIGRATIONS[version - 1]?.(db)
        const broken = db.pragma('foreign_key_check') as unknown[]
        if (broken.length > 0) throw new MigrationError(`migration ${version} would leave ${broken.length} dangling reference(s)`)
        db.pragma(`user_version = ${version}`)
      })()
    }
  } finally {
    db.pragma('foreign_keys = ON')
  }
}
