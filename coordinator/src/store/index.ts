import type { StoreOptions } from './base.ts'
import { ExperimentStore } from './experiments.ts'
import { decodeCandidate, decodeMerge, maybe, mergeIndex, type CandidateRow, type CandidateState, type MergeRow } from './rows.ts'
import type { StoredVerdict } from './verdict.ts'
import { StoreViews, type Tallies } from './views.ts'

export { CANDIDATE_STATES, CorruptRowError } from './rows.ts'
export type { AttestationRow, CandidateRow, CandidateState, DigestRow, ExperimentRow, HypothesisRow, IdentityRow, JobRole, JobRow, MergeRow } from './rows.ts'
export type { ExperimentQuery } from './experiments.ts'
export type { IdentityCounter } from './ledger.ts'
export type { StoreOptions } from './base.ts'
export { MigrationError, SCHEMA_VERSION } from './migrations.ts'
export { StoredVerdictSchema, type StoredVerdict } from './verdict.ts'
export { StoreViews, type OriginalSubmission, type SummaryRow, type Tallies } from './views.ts'

/** A candidate row as it is inserted: no verdict, reason or rounds yet. */
export type NewCandidate = Omit<CandidateRow, 'verdict' | 'reason' | 'rounds'>

/**
 * The coordinator's SQLite database: the source of truth for receipts, jobs,
 * attestations and merges (the git ref follows it, see Coordinator.recover). No SQL
 * lives outside this folder; rows leave it decoded (rows.ts) and writes take decoded
 * values. Opening a database brings its schema up to date (migrations.ts). The methods
 * are layered a table group per file: base.ts, ledger.ts, jobs.ts, experiments.ts, then candidates and
 * merges here.
 */
export class Store extends ExperimentStore {
  /** The site's read-only queries (views.ts). */
  readonly views: StoreViews
  /** countsByState's last count and the database version it was taken at. */
  #counts?: { version: string, counts: Record<string, number> }

  constructor (path: string, opts: StoreOptions = {}) {
    super(path, opts)
    this.views = new StoreViews(this.db)
  }

  // candidates -------------------------------------------------------------------

  candidateByTree (tree: string): CandidateRow | undefined {
    return maybe(decodeCandidate)(this.sql('SELECT * FROM candidates WHERE tree_oid = ? ORDER BY seq LIMIT 1').get(tree))
  }

  candidateByCommit (commit: string): CandidateRow | undefined {
    return maybe(decodeCandidate)(this.sql('SELECT * FROM candidates WHERE commit_oid = ?').get(commit))
  }

  candidate (seq: number): CandidateRow | undefined {
    return maybe(decodeCandidate)(this.sql('SELECT * FROM candidates WHERE seq = ?').get(seq))
  }

  candidates (): CandidateRow[] {
    return this.sql('SELECT * FROM candidates ORDER BY seq').all().map(decodeCandidate)
  }

  /** Candidates in one of `states` whose parent is `best`, by seq (what verification leases). */
  candidatesOn (best: string, states: CandidateState[]): CandidateRow[] {
    return this.sql(`SELECT * FROM candidates WHERE parent_oid = ? AND state IN (${states.map(() => '?').join(', ')}) ORDER BY seq`)
      .all(best, ...states).map(decodeCandidate)
  }

  /** The tallies as the triggers keep them (migrations.ts, TALLIES); `views.talliesFromRows` counts the same from the rows. */
  tallies (): Tallies {
    return { states: this.views.submissionStatesPerSubmitter(), runs: new Map(this.verificationRuns().map((r) => [r.verifier, r.runs])) }
  }

  /**
   * The tallies as kept and as counted from the rows, read in one transaction: one snapshot
   * of the database, so the two agree even while another process writes between the reads
   * (the fault suite reads them while the restarted coordinator expires leases).
   */
  talliesKeptAndCounted (): { kept: Tallies, counted: Tallies } {
    return this.transaction(() => ({ kept: this.tallies(), counted: this.views.talliesFromRows() }))
  }

  /** Open candidates (queued, verifying or passed) whose parent is no longer `best`, by seq (what a rebase carries over). */
  candidatesOff (best: string): CandidateRow[] {
    return this.sql("SELECT * FROM candidates WHERE state IN ('queued', 'verifying', 'passed') AND parent_oid != ? ORDER BY seq").all(best).map(decodeCandidate)
  }

  /**
   * Candidates rejected on top of a candidate that was never merged and is no longer open
   * (speculation, docs/trust.md): their verdict was measured on a base that never became the
   * best, so they are carried back onto it.
   */
  rejectedOnDeadBases (): CandidateRow[] {
    // Only rejections on a candidate that has not merged, through their partial index (migrations.ts, ON_CANDIDATE), named
    // because SQLite's planner would take the index on state and walk every rejection the cause ever had.
    return this.sql(`SELECT c.* FROM candidates c INDEXED BY candidates_rejected_on_candidate JOIN candidates p ON p.commit_oid = c.parent_oid
      WHERE c.state = 'rejected' AND c.on_candidate = 1 AND p.state IN ('rejected', 'stale', 'rebased') ORDER BY c.seq`).all().map(decodeCandidate)
  }

  /** The newest candidate re-verifying `originSeq`: its latest rebase, or the latest merge group holding it or a rebase of it. */
  latestRebase (originSeq: number): number | undefined {
    return (this.sql(`SELECT MAX(seq) AS seq FROM (
      SELECT seq FROM candidates WHERE origin_seq = @origin
      UNION SELECT group_seq AS seq FROM group_members WHERE member_seq = @origin OR member_seq IN (SELECT seq FROM candidates WHERE origin_seq = @origin))`)
      .get({ origin: originSeq }) as { seq: number | null }).seq ?? undefined
  }

  // merge groups -------------------------------------------------------------------

  /**
   * Records a merge group in one transaction: its candidate row, its members in queue order,
   * and each member's state `rebased` into it.
   */
  insertGroup (group: NewCandidate, members: number[]): void {
    this.db.transaction(() => {
      this.insertCandidate(group, null)
      members.forEach((member, position) => {
        this.sql('INSERT INTO group_members (group_seq, member_seq, position) VALUES (?, ?, ?)').run(group.seq, member, position)
        this.setCandidateState(member, 'rebased', `combined into merge group #${group.seq} with ${members.filter((m) => m !== member).map((m) => `#${m}`).join(', ')}`)
      })
    })()
  }

  /** A merge group's members in queue order (none: not a group). */
  groupMembers (groupSeq: number): CandidateRow[] {
    return this.sql('SELECT c.* FROM group_members g JOIN candidates c ON c.seq = g.member_seq WHERE g.group_seq = ? ORDER BY g.position').all(groupSeq).map(decodeCandidate)
  }

  /** The latest merge group a candidate was a member of. */
  lastGroupOf (memberSeq: number): number | undefined {
    return (this.sql('SELECT MAX(group_seq) AS seq FROM group_members WHERE member_seq = ?').get(memberSeq) as { seq: number | null }).seq ?? undefined
  }

  /**
   * Candidates per state, counted again only after a write (views.version(), which sees other
   * processes' writes too): `/api/status` and every page's join line ask on each request, and
   * the count walks every candidate (4 ms at 100,000).
   */
  countsByState (): Record<string, number> {
    const version = this.views.version()
    if (this.#counts?.version !== version) {
      const rows = this.sql('SELECT state, COUNT(*) AS n FROM candidates GROUP BY state').all() as Array<{ state: string, n: number }>
      this.#counts = { version, counts: Object.fromEntries(rows.map((r) => [r.state, r.n])) }
    }
    return { ...this.#counts.counts }
  }

  nextSeq (): number {
    const row = this.sql("SELECT seq FROM sqlite_sequence WHERE name = 'candidates'").get() as { seq: number } | undefined
    return (row?.seq ?? 0) + 1
  }

  /** Records a receipt and its nonce (none for a coordinator-made rebase) in one transaction. */
  insertCandidate (row: NewCandidate, nonce: string | null): void {
    this.db.transaction(() => {
      if (nonce !== null) this.sql('INSERT INTO nonces (public_key, nonce, seen_at) VALUES (?, ?, ?)').run(row.submitter, nonce, row.received_at)
      this.sql(`INSERT INTO candidates (seq, commit_oid, tree_oid, parent_oid, submitter, claimed_metric, description, received_at, state, seeds, receipt, submission, origin_seq)
        VALUES (@seq, @commit_oid, @tree_oid, @parent_oid, @submitter, @claimed_metric, @description, @received_at, @state, @seeds, @receipt, @submission, @origin_seq)`)
        .run({ ...row, seeds: JSON.stringify(row.seeds), receipt: JSON.stringify(row.receipt), submission: JSON.stringify(row.submission) })
    })()
  }

  /** Submissions of an identity's own (not coordinator rebases) received since `since`. */
  submissionsSince (publicKey: string, since: number): number {
    return (this.sql('SELECT COUNT(*) AS n FROM candidates WHERE submitter = ? AND origin_seq IS NULL AND received_at >= ?').get(publicKey, since) as { n: number }).n
  }

  /** A new state and reason; the verdict, when given, replaces the stored one. */
  setCandidateState (seq: number, state: CandidateState, reason: string | null = null, verdict?: StoredVerdict): void {
    this.sql('UPDATE candidates SET state = ?, reason = ?, verdict = COALESCE(?, verdict) WHERE seq = ?')
      .run(state, reason, verdict === undefined ? null : JSON.stringify(verdict), seq)
  }

  /** Asks for another round: the candidate's seeds become `rounds` and it waits in the queue again. */
  addRound (seq: number, rounds: number[][]): void {
    this.sql("UPDATE candidates SET seeds = ?, rounds = ?, state = 'queued' WHERE seq = ?").run(JSON.stringify(rounds), rounds.length, seq)
  }

  // merges -----------------------------------------------------------------------

  merges (): MergeRow[] {
    return this.sql('SELECT * FROM merges ORDER BY seq').all().map(decodeMerge)
  }

  /** Verified merges that still stand (not reverted), oldest first. */
  standingMerges (): MergeRow[] {
    return this.sql("SELECT * FROM merges WHERE kind = 'merge' AND reverted_at IS NULL ORDER BY seq").all().map(decodeMerge)
  }

  lastMerge (): MergeRow | undefined {
    return maybe(decodeMerge)(this.sql('SELECT * FROM merges ORDER BY seq DESC LIMIT 1').get())
  }

  isMergedCommit (commit: string): boolean {
    return this.sql('SELECT 1 FROM merges WHERE commit_oid = ?').get(commit) !== undefined
  }

  /** The merge of `commit` if the operator reverted it. */
  revertedMerge (commit: string): MergeRow | undefined {
    return maybe(decodeMerge)(this.sql("SELECT * FROM merges WHERE commit_oid = ? AND kind = 'merge' AND reverted_at IS NOT NULL ORDER BY seq DESC LIMIT 1").get(commit))
  }

  /** Records a merge; returns its `index` (its number on the wire). */
  insertMerge (row: Omit<MergeRow, 'seq' | 'index' | 'reverted_at'>): number {
    return mergeIndex(Number(this.sql(`INSERT INTO merges (commit_oid, parent_oid, candidate_seq, metric, baseline_metric, merged_at, kind)
      VALUES (@commit_oid, @parent_oid, @candidate_seq, @metric, @baseline_metric, @merged_at, @kind)`).run(row).lastInsertRowid))
  }

  /**
   * Marks `merge` reverted and records a `revert` row that makes its parent the best
   * again, with the metric that parent had when it last became the best.
   */
  revertMerge (merge: MergeRow & { parent_oid: string }, at: number): void {
    this.db.transaction(() => {
      const previous = this.sql('SELECT metric FROM merges WHERE commit_oid = ? AND seq < ? ORDER BY seq DESC LIMIT 1').get(merge.parent_oid, merge.seq) as { metric: number | null } | undefined
      this.sql('UPDATE merges SET reverted_at = ? WHERE seq = ?').run(at, merge.seq)
      this.insertMerge({ commit_oid: merge.parent_oid, parent_oid: merge.commit_oid, candidate_seq: null, metric: previous?.metric ?? null, baseline_metric: null, merged_at: at, kind: 'revert' })
    })()
  }
}
