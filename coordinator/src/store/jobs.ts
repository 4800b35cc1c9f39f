import type { AttestationBody } from '@autoresearch/protocol'
import { LedgerStore } from './ledger.ts'
import { decodeAttestation, decodeJob, decodeJobRole, maybe, type AttestationRow, type JobRole, type JobRow } from './rows.ts'

/** Verification's tables: jobs, their attestations, roles in open mode and judged agreements. */
export class JobStore extends LedgerStore {
  job (id: number): JobRow | undefined {
    return maybe(decodeJob)(this.sql('SELECT * FROM jobs WHERE id = ?').get(id))
  }

  jobsFor (candidateSeq: number): JobRow[] {
    return this.sql('SELECT * FROM jobs WHERE candidate_seq = ? ORDER BY id').all(candidateSeq).map(decodeJob)
  }

  insertJob (job: Omit<JobRow, 'id'>): number {
    return Number(this.sql(`INSERT INTO jobs (candidate_seq, baseline_oid, seeds, verifier, leased_at, lease_expires_at, state, round)
      VALUES (@candidate_seq, @baseline_oid, @seeds, @verifier, @leased_at, @lease_expires_at, @state, @round)`).run({ ...job, seeds: JSON.stringify(job.seeds) }).lastInsertRowid)
  }

  /** Candidates with a lease still running at `now`, each with when its last lease runs out: one query for what a scan of every candidate's jobs would find. */
  leasedCandidates (now: number): Map<number, number> {
    const rows = this.sql("SELECT candidate_seq, MAX(lease_expires_at) AS until FROM jobs WHERE state = 'leased' AND lease_expires_at >= ? GROUP BY candidate_seq").all(now) as Array<{ candidate_seq: number, until: number }>
    return new Map(rows.map((r) => [r.candidate_seq, r.until]))
  }

  /** Queued candidates whose current round has a job leased or done (a split round under way): one query for every candidate's jobs. */
  roundsBegun (): Set<number> {
    const rows = this.sql(`SELECT DISTINCT j.candidate_seq AS seq FROM jobs j JOIN candidates c ON c.seq = j.candidate_seq
      WHERE c.state = 'queued' AND j.round = c.rounds AND j.state != 'expired'`).all() as Array<{ seq: number }>
    return new Set(rows.map((r) => r.seq))
  }

  /** Verifiers with a lease still running at `now`: they will ask again when it is done. */
  busyVerifiers (now: number): Set<string> {
    const rows = this.sql("SELECT DISTINCT verifier FROM jobs WHERE state = 'leased' AND lease_expires_at >= ?").all(now) as Array<{ verifier: string }>
    return new Set(rows.map((r) => r.verifier))
  }

  /**
   * When the first lease on an open candidate runs out (Infinity: none is leased): on the best,
   * on top of a candidate being verified (speculation) or on an old best (it is then carried).
   */
  firstLeaseExpiry (): number {
    const row = this.sql(`SELECT MIN(j.lease_expires_at) AS at FROM jobs j JOIN candidates c ON c.seq = j.candidate_seq
      WHERE j.state = 'leased' AND c.state IN ('queued', 'verifying')`).get() as { at: number | null }
    return row.at ?? Infinity
  }

  /** Leases that ran out with their end in [from, to): whoever marked them expired (expireLeases), each put a job back in the queue. */
  expiredBetween (from: number, to: number): number {
    return (this.sql("SELECT COUNT(*) AS n FROM jobs WHERE state = 'expired' AND lease_expires_at >= ? AND lease_expires_at < ?").get(from, to) as { n: number }).n
  }

  /** Marks leases past their end as expired and puts their candidates back in the queue. */
  expireLeases (now: number): number {
    return this.db.transaction(() => {
      const expired = this.sql("SELECT id, candidate_seq FROM jobs WHERE state = 'leased' AND lease_expires_at < ?").all(now) as Array<{ id: number, candidate_seq: number }>
      for (const job of expired) {
        this.sql("UPDATE jobs SET state = 'expired' WHERE id = ?").run(job.id)
        this.sql("UPDATE candidates SET state = 'queued' WHERE seq = ? AND state = 'verifying'").run(job.candidate_seq)
      }
      return expired.length
    })()
  }

  /** A verifier's answer to a job: the attestation is kept and the job is done. */
  recordAttestation (a: { jobId: number, candidateSeq: number, verifier: string, body: AttestationBody, signature: string, at: number }): void {
    this.db.transaction(() => {
      this.sql('INSERT INTO attestations (job_id, candidate_seq, verifier, body, signature, received_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(a.jobId, a.candidateSeq, a.verifier, JSON.stringify(a.body), a.signature, a.at)
      this.sql("UPDATE jobs SET state = 'done' WHERE id = ?").run(a.jobId)
    })()
  }

  /** A candidate's attestations in the order they came, each with its job's round. */
  attestationsFor (candidateSeq: number): AttestationRow[] {
    return this.sql('SELECT a.verifier, a.body, j.round, a.job_id, a.received_at FROM attestations a JOIN jobs j ON j.id = a.job_id WHERE a.candidate_seq = ? ORDER BY a.id')
      .all(candidateSeq).map(decodeAttestation)
  }

  setJobRole (jobId: number, role: JobRole): void {
    this.sql('INSERT INTO job_roles (job_id, role) VALUES (?, ?)').run(jobId, role)
  }

  /** Roles of a candidate's jobs that are not ordinary. */
  jobRoles (candidateSeq: number): Map<number, JobRole> {
    const rows = this.sql('SELECT r.job_id, r.role FROM job_roles r JOIN jobs j ON j.id = r.job_id WHERE j.candidate_seq = ?').all(candidateSeq).map(decodeJobRole)
    return new Map(rows.map((r) => [r.job_id, r.role]))
  }

  /** Records a judgement of a job once per kind (a later one of the same job and kind is ignored). */
  recordCheck (jobId: number, kind: 'check' | 'outlier', verifier: string, agreed: boolean, at: number): void {
    this.sql('INSERT OR IGNORE INTO verifier_checks (job_id, kind, verifier, agreed, checked_at) VALUES (?, ?, ?, ?, ?)').run(jobId, kind, verifier, agreed ? 1 : 0, at)
  }

  /**
   * A key's agreements since its last disagreement: what its standing rests on, read on
   * every lease and attestation, so counted in SQL rather than from the whole record.
   */
  agreementRun (publicKey: string): number {
    return (this.sql(`SELECT COUNT(*) AS n FROM verifier_checks WHERE verifier = ? AND agreed = 1
      AND id > COALESCE((SELECT MAX(id) FROM verifier_checks WHERE verifier = ? AND agreed = 0), 0)`).get(publicKey, publicKey) as { n: number }).n
  }

  /** A key's judgements, oldest first (true: agreed). */
  verifierChecks (publicKey: string): boolean[] {
    return (this.sql('SELECT agreed FROM verifier_checks WHERE verifier = ? ORDER BY id').all(publicKey) as Array<{ agreed: number }>).map((r) => r.agreed === 1)
  }

  /** Shadow and spot-check jobs of a candidate already judged. */
  checkedJobs (candidateSeq: number): Set<number> {
    const rows = this.sql("SELECT c.job_id FROM verifier_checks c JOIN jobs j ON j.id = c.job_id WHERE j.candidate_seq = ? AND c.kind = 'check'").all(candidateSeq) as Array<{ job_id: number }>
    return new Set(rows.map((r) => r.job_id))
  }

  /** Verification runs per verifier key, in the order keys first attested: two per trial (baseline and candidate). */
  verificationRuns (): Array<{ verifier: string, runs: number }> {
    // Kept by a trigger on each attestation (migrations.ts, TALLIES), so this reads one row per verifier, not every attestation.
    return this.sql('SELECT verifier, runs FROM verifier_tallies ORDER BY first_id').all() as Array<{ verifier: string, runs: number }>
  }
}
