import type Database from 'better-sqlite3'
import { z } from 'zod'
import { AttestationBody } from '@autoresearch/protocol'
import { CANDIDATE_STATES, decoder, json, SignedSubmission, SummaryRow, type CandidateState } from './rows.ts'

/**
 * The public site's reads: aggregates and projections no other caller needs, each one
 * statement, rows decoded here like the rest of the store. Reads only.
 */

const Count = z.object({ n: z.number() })
const Version = z.number()
const VerifiedAt = z.object({ seq: z.number(), at: z.number() })
const LatestAt = z.object({ at: z.number().nullable() })
const bodies = decoder('attestations', z.array(z.object({ body: json(AttestationBody) }).transform(({ body }) => body)))
const Submission = z.object({ seq: z.number().int(), submitter: z.string(), submission: json(SignedSubmission) })
  .transform(({ seq, submitter, submission }) => ({ seq, submitter, body: submission.body }))
const Submitted = z.object({ submitter: z.string(), state: z.enum(CANDIDATE_STATES), n: z.number() })
const Activity = z.object({ worker: z.string(), received_at: z.number() })
const Relative = z.object({ seq: z.number(), state: z.enum(CANDIDATE_STATES) })

const summaryRows = decoder('candidates', z.array(SummaryRow))
/** A candidate's line in the site's lists: its columns, and only the fields of its verdict and profile the line shows. */
const SUMMARY_SELECT = `SELECT seq, commit_oid, parent_oid, submitter, origin_seq, state, reason, description, claimed_metric, received_at,
  json_extract(verdict, '$.candidateMetric') AS candidate_metric, json_extract(verdict, '$.baselineMetric') AS baseline_metric,
  json_extract(verdict, '$.meanImprovement') AS mean_improvement, json_extract(verdict, '$.claimContradicted') AS claim_contradicted,
  json_extract(submission, '$.body.profile.name') AS name, json_extract(submission, '$.body.profile.team') AS team
  FROM candidates`
const Mark = z.object({ n: z.number().int() })

const Runs = z.object({ verifier: z.string(), runs: z.number() })

/** Submissions per submitter and state, and verification runs per verifier (two per trial). */
export interface Tallies { states: Map<string, Partial<Record<CandidateState, number>>>, runs: Map<string, number> }

/** Rows of (submitter, state, n) as a map per submitter. */
function statesOf (rows: unknown[]): Tallies['states'] {
  const out: Tallies['states'] = new Map()
  for (const r of z.array(Submitted).parse(rows)) out.set(r.submitter, { ...out.get(r.submitter), [r.state]: r.n })
  return out
}

export type OriginalSubmission = z.output<typeof Submission>
export type SummaryRow = z.output<typeof SummaryRow>
export type Relative = z.output<typeof Relative>

export class StoreViews {
  readonly #db: Database.Database

  constructor (db: Database.Database) {
    this.#db = db
  }

  #count (sql: string, ...args: unknown[]): number {
    return Count.parse(this.#db.prepare(sql).get(...args)).n
  }

  /** Changes whenever this process or another (the admin CLI) writes the database. */
  version (): string {
    const dataVersion = Version.parse(this.#db.pragma('data_version', { simple: true }))
    return `${dataVersion}.${this.#count('SELECT total_changes() AS n')}`
  }

  /**
   * The candidates inserted, updated or attested since change mark `after` (-1: all), by seq, as
   * their lines in the site's lists read them, and the mark to ask after next time (migrations.ts,
   * TALLIES): what the site reads after a change instead of the whole history. One read
   * transaction, so no change falls between.
   */
  summariesTouchedAfter (after: number): { rows: SummaryRow[], mark: number } {
    return this.#db.transaction(() => ({
      // By touched, so the read walks the change marks' index (ORDER BY seq walked the whole table); then by seq.
      rows: summaryRows(this.#db.prepare(`${SUMMARY_SELECT} WHERE touched > ? ORDER BY touched`).all(after)).sort((a, b) => a.seq - b.seq),
      mark: this.#mark()
    }))()
  }

  /**
   * At most `limit` candidates after seq `after`, by seq, as summariesTouchedAfter reads them,
   * and the change mark at the read: a first look taken in slices, each a short read, which
   * then asks for what was touched after the first slice's mark (site/queries/candidates.ts).
   */
  summariesAfterSeq (after: number, limit: number): { rows: SummaryRow[], mark: number } {
    return this.#db.transaction(() => ({
      rows: summaryRows(this.#db.prepare(`${SUMMARY_SELECT} WHERE seq > ? ORDER BY seq LIMIT ?`).all(after, limit)),
      mark: this.#mark()
    }))()
  }

  #mark (): number {
    return Mark.parse(this.#db.prepare("SELECT n FROM marks WHERE name = 'candidates'").get()).n
  }

  /** Time of each candidate's latest attestation, by candidate seq. */
  verifiedTimes (): Map<number, number> {
    const rows = z.array(VerifiedAt).parse(this.#db.prepare('SELECT candidate_seq AS seq, MAX(received_at) AS at FROM attestations GROUP BY candidate_seq').all())
    return new Map(rows.map((r) => [r.seq, r.at]))
  }

  /** Time of the latest attestation of each of `seqs` that has one (a lookup each, for the few a change touched). */
  verifiedTimesOf (seqs: readonly number[]): Map<number, number> {
    const statement = this.#db.prepare('SELECT MAX(received_at) AS at FROM attestations WHERE candidate_seq = ?')
    const out = new Map<number, number>()
    for (const seq of seqs) {
      const at = LatestAt.parse(statement.get(seq)).at
      if (at !== null) out.set(seq, at)
    }
    return out
  }

  /** Each verifier's latest attestation. */
  latestAttestationPerVerifier (): AttestationBody[] {
    return bodies(this.#db.prepare('SELECT body FROM attestations WHERE id IN (SELECT latest_id FROM verifier_tallies) ORDER BY id').all())
  }

  attestationsSince (since: number): AttestationBody[] {
    return bodies(this.#db.prepare('SELECT body FROM attestations WHERE received_at >= ?').all(since))
  }

  /** Identities that ever submitted (coordinator rebases not counted): the tally, not the history. */
  submitters (): number {
    return this.#count('SELECT COUNT(DISTINCT submitter) AS n FROM submitter_states WHERE n > 0')
  }

  /** Identities that submitted (coordinator rebases not counted) since `since`. */
  submittersSince (since: number): number {
    return this.#count('SELECT COUNT(DISTINCT submitter) AS n FROM candidates WHERE origin_seq IS NULL AND received_at >= ?', since)
  }

  /** Keys that ever attested: the tally, not the history. */
  verifiers (): number {
    return this.#count('SELECT COUNT(*) AS n FROM verifier_tallies')
  }

  verifiersSince (since: number): number {
    return this.#count('SELECT COUNT(DISTINCT verifier) AS n FROM attestations WHERE received_at >= ?', since)
  }

  /** Submissions (coordinator rebases not counted) since `since`. */
  submissionsSince (since: number): number {
    return this.#count('SELECT COUNT(*) AS n FROM candidates WHERE origin_seq IS NULL AND received_at >= ?', since)
  }

  openLeases (now: number): number {
    return this.#count("SELECT COUNT(*) AS n FROM jobs WHERE state = 'leased' AND lease_expires_at >= ?", now)
  }

  /**
   * The submissions after seq `after` as their submitters signed them (coordinator rebases left
   * out), oldest first, each with its seq: a signed submission never changes, so a reader folds
   * them once (SubmitterExtras, site/queries/candidates.ts).
   */
  originalSubmissionsAfter (after: number, limit = -1): OriginalSubmission[] {
    // LIMIT -1: all of them.
    return decoder('candidates', z.array(Submission))(this.#db.prepare('SELECT seq, submitter, submission FROM candidates WHERE origin_seq IS NULL AND seq > ? ORDER BY seq LIMIT ?').all(after, limit))
  }

  /** Submissions (coordinator rebases not counted) per submitter, by the state each is in now. */
  submissionStatesPerSubmitter (): Map<string, Partial<Record<CandidateState, number>>> {
    return statesOf(this.#db.prepare('SELECT submitter, state, n FROM submitter_states WHERE n > 0 ORDER BY submitter, state').all())
  }

  /**
   * The tallies (submissions per submitter and state, runs per verifier) counted from the rows
   * themselves over the whole history, not read from the tables the triggers keep: what those
   * must equal (the fault suite checks it after every kill, the store's tests after every kind
   * of write). A scan of every candidate and attestation: never on a request's path.
   */
  talliesFromRows (): Tallies {
    return {
      states: statesOf(this.#db.prepare('SELECT submitter, state, COUNT(*) AS n FROM candidates WHERE origin_seq IS NULL GROUP BY submitter, state ORDER BY submitter, state').all()),
      runs: new Map(z.array(Runs).parse(this.#db.prepare("SELECT verifier, SUM(2 * json_array_length(body, '$.trials')) AS runs FROM attestations GROUP BY verifier").all()).map((r) => [r.verifier, r.runs]))
    }
  }

  /**
   * Experiment reports received since `since`, and how many workers sent them. Rows arrive
   * in time order, so this walks back from the newest by seq (the table's key) and stops at
   * the first older row: it reads the last hour's rows, not the whole log; at most `cap`.
   */
  experimentsSince (since: number, cap = 100_000): { experiments: number, workers: number } {
    const workers = new Set<string>()
    let experiments = 0
    for (const row of this.#db.prepare('SELECT worker, received_at FROM experiments ORDER BY seq DESC').iterate()) {
      const r = Activity.parse(row)
      if (r.received_at < since || experiments >= cap) break
      experiments++
      workers.add(r.worker)
    }
    return { experiments, workers: workers.size }
  }

  /** The coordinator's rebases of candidate `origin`, by seq. */
  rebasesOf (origin: number): Relative[] {
    return z.array(Relative).parse(this.#db.prepare('SELECT seq, state FROM candidates WHERE origin_seq = ? ORDER BY seq').all(origin))
  }
}
