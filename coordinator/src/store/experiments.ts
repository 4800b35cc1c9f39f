import type { ExperimentReport } from '@autoresearch/protocol'
import { JobStore } from './jobs.ts'
import { decodeDigest, decodeExperiment, decodeHypothesis, maybe, type DigestRow, type ExperimentRow, type HypothesisRow } from './rows.ts'

/** Which experiments a read wants: on one best or any, after a log position, at most `limit`. */
export interface ExperimentQuery { best?: string, since?: number, limit: number }

/**
 * The shared experiment log: every run workers reported, self-reported and never a
 * claim on the best. Rows are numbered in the order they arrived (`seq`), so a reader
 * pages with `since`.
 */
export class ExperimentStore extends JobStore {
  /** Records one signed batch and its nonce in one transaction; returns the first report's seq. */
  insertReports (batch: { worker: string, hardware: string | null, nonce: string, receivedAt: number, reports: ExperimentReport[] }): number {
    return this.db.transaction(() => {
      this.sql('INSERT INTO nonces (public_key, nonce, seen_at) VALUES (?, ?, ?)').run(batch.worker, batch.nonce, batch.receivedAt)
      let first = 0
      for (const r of batch.reports) {
        const seq = Number(this.sql(`INSERT INTO experiments (worker, best_oid, commit_oid, status, metric, noise, seed, description, diff, diff_hash, near_key, hypothesis, hardware, reported_at, received_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(batch.worker, r.best, r.commit, r.status, r.metric, r.noise, r.seed, r.description, r.diff, r.diffHash, r.nearKey ?? null, r.hypothesis ?? null, batch.hardware, r.time, batch.receivedAt).lastInsertRowid)
        if (first === 0) first = seq
      }
      return first
    })()
  }

  /** Reports in arrival order after `since`, on `best` when given. */
  experiments (q: ExperimentQuery): ExperimentRow[] {
    const rows = q.best === undefined
      ? this.sql('SELECT * FROM experiments WHERE seq > ? ORDER BY seq LIMIT ?').all(q.since ?? 0, q.limit)
      : this.sql('SELECT * FROM experiments WHERE best_oid = ? AND seq > ? ORDER BY seq LIMIT ?').all(q.best, q.since ?? 0, q.limit)
    return rows.map(decodeExperiment)
  }

  /** The newest `limit` reports on any best, newest first. */
  recentExperiments (limit: number): ExperimentRow[] {
    return this.sql('SELECT * FROM experiments ORDER BY seq DESC LIMIT ?').all(limit).map(decodeExperiment)
  }

  /** The newest `limit` reports on `best`, newest first. */
  latestExperimentsOn (best: string, limit: number): ExperimentRow[] {
    return this.sql('SELECT * FROM experiments WHERE best_oid = ? ORDER BY seq DESC LIMIT ?').all(best, limit).map(decodeExperiment)
  }

  /** The distinct diff hashes tried on `best`, the most recently tried first. */
  triedHashes (best: string, limit: number): string[] {
    return (this.sql('SELECT diff_hash FROM experiments WHERE best_oid = ? GROUP BY diff_hash ORDER BY MAX(seq) DESC LIMIT ?').all(best, limit) as Array<{ diff_hash: string }>).map((r) => r.diff_hash)
  }

  /**
   * The site's summary of what was tried on `best`: reports counted by status, and the
   * report with the best metric in `direction` (any status with a metric; the earliest on a tie).
   */
  experimentTally (best: string, direction: 'minimize' | 'maximize'): { counts: Record<string, number>, best: ExperimentRow | undefined } {
    const counts = this.sql('SELECT status, COUNT(*) AS n FROM experiments WHERE best_oid = ? GROUP BY status').all(best) as Array<{ status: string, n: number }>
    const top = this.sql(`SELECT * FROM experiments WHERE best_oid = ? AND metric IS NOT NULL ORDER BY metric ${direction === 'minimize' ? 'ASC' : 'DESC'}, seq LIMIT 1`).get(best)
    return { counts: Object.fromEntries(counts.map((r) => [r.status, r.n])), best: maybe(decodeExperiment)(top) }
  }

  experimentCount (best?: string): number {
    const row = best === undefined ? this.sql('SELECT COUNT(*) AS n FROM experiments').get() : this.sql('SELECT COUNT(*) AS n FROM experiments WHERE best_oid = ?').get(best)
    return (row as { n: number }).n
  }

  /** Whether an edit with this hash was reported on `best`. */
  wasTried (best: string, diffHash: string): boolean {
    return this.sql('SELECT 1 FROM experiments WHERE best_oid = ? AND diff_hash = ? LIMIT 1').get(best, diffHash) !== undefined
  }

  /** Reports on `best` whose edit has `nearKey` (same files, constants and direction), newest first. */
  nearExperiments (best: string, nearKey: string, limit: number): ExperimentRow[] {
    return this.sql('SELECT * FROM experiments WHERE best_oid = ? AND near_key = ? ORDER BY seq DESC LIMIT ?').all(best, nearKey, limit).map(decodeExperiment)
  }

  // hypotheses -------------------------------------------------------------------

  /**
   * Records a planner's hypotheses and its nonce in one transaction; a text already open
   * (posted and not tested yet) is not recorded again. Returns each text's id.
   */
  insertHypotheses (post: { author: string, best: string, texts: string[], nonce: string, at: number }): number[] {
    return this.db.transaction(() => {
      this.sql('INSERT INTO nonces (public_key, nonce, seen_at) VALUES (?, ?, ?)').run(post.author, post.nonce, post.at)
      return post.texts.map((text) => {
        const open = this.sql('SELECT id FROM hypotheses h WHERE text = ? AND NOT EXISTS (SELECT 1 FROM experiments e WHERE e.hypothesis = h.id) LIMIT 1').get(text) as { id: number } | undefined
        if (open !== undefined) return open.id
        return Number(this.sql('INSERT INTO hypotheses (best_oid, text, author, posted_at) VALUES (?, ?, ?, ?)').run(post.best, text, post.author, post.at).lastInsertRowid)
      })
    })()
  }

  hypothesis (id: number): HypothesisRow | undefined {
    return maybe(decodeHypothesis)(this.sql('SELECT * FROM hypotheses WHERE id = ?').get(id))
  }

  /** Hypotheses no experiment has tested yet, oldest first. */
  openHypotheses (limit: number): HypothesisRow[] {
    return this.sql('SELECT * FROM hypotheses h WHERE NOT EXISTS (SELECT 1 FROM experiments e WHERE e.hypothesis = h.id) ORDER BY id LIMIT ?').all(limit).map(decodeHypothesis)
  }

  /** Every hypothesis, newest first, at most `limit`. */
  hypotheses (limit: number): HypothesisRow[] {
    return this.sql('SELECT * FROM hypotheses ORDER BY id DESC LIMIT ?').all(limit).map(decodeHypothesis)
  }

  /** The first `limit` experiments that tested hypothesis `id`, in arrival order. */
  experimentsOfHypothesis (id: number, limit: number): ExperimentRow[] {
    return this.sql('SELECT * FROM experiments WHERE hypothesis = ? ORDER BY seq LIMIT ?').all(id, limit).map(decodeExperiment)
  }

  /** Whether some experiment reported testing hypothesis `id`. */
  hypothesisTested (id: number): boolean {
    return this.sql('SELECT 1 FROM experiments WHERE hypothesis = ? LIMIT 1').get(id) !== undefined
  }

  // digests ----------------------------------------------------------------------

  insertDigest (text: string, at: number): number {
    return Number(this.sql('INSERT INTO digests (written_at, text) VALUES (?, ?)').run(at, text).lastInsertRowid)
  }

  latestDigest (): DigestRow | undefined {
    return maybe(decodeDigest)(this.sql('SELECT * FROM digests ORDER BY seq DESC LIMIT 1').get())
  }
}
