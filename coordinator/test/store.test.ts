import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Identity, type AttestationBody, type ReceiptBody, type SubmissionBody } from '@autoresearch/protocol'
import { afterEach, describe, expect, it } from 'vitest'
import { MigrationError, SCHEMA_VERSION, Store, type CandidateRow } from '../src/store/index.ts'

const FIXTURES = join(import.meta.dirname, 'fixtures')
const oid = (n: number): string => n.toString(16).padStart(40, '0')
const scratch: string[] = []
afterEach(() => { for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true }) })

/** A fresh database file, or a copy of a fixture (the fixture itself is never written). */
function open (fixture?: string): { store: Store, path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ar-store-'))
  scratch.push(dir)
  const path = join(dir, 'coordinator.db')
  if (fixture !== undefined) copyFileSync(join(FIXTURES, fixture), path)
  return { store: new Store(path), path }
}

const submitter = Identity.generate()
const verifier = Identity.generate()
const hardware = { class: 'cpu', cpus: 2, gpus: [] }

function newCandidate (seq: number, tree: string, parent: string, originSeq: number | null = null): Omit<CandidateRow, 'verdict' | 'reason' | 'rounds'> {
  const body: SubmissionBody = {
    type: 'submission', causeId: 'cause', parent, candidate: oid(1000 + seq), packSha256: 'b'.repeat(64), claimedMetric: 0.4, logDigest: 'c'.repeat(64),
    description: `change ${seq}`, publicKey: submitter.publicKey, nonce: seq.toString(16).padStart(32, '0'), time: 1000 + seq
  }
  const receipt: ReceiptBody = { type: 'receipt', causeId: 'cause', candidateSeq: seq, candidate: body.candidate, tree, submitter: submitter.publicKey, receivedAt: 1000 + seq }
  return {
    seq, commit_oid: body.candidate, tree_oid: tree, parent_oid: parent, submitter: submitter.publicKey, claimed_metric: 0.4, description: body.description,
    received_at: receipt.receivedAt, state: 'queued', seeds: [[1, 2, 3]], receipt: { receipt, signature: 'f'.repeat(128) },
    submission: { body, signature: submitter.sign('submission', body) }, origin_seq: originSeq
  }
}

describe('Store', () => {
  it('a new database is at the latest schema version, and opening it again changes nothing', () => {
    const { store, path } = open()
    expect(store.schemaVersion()).toBe(SCHEMA_VERSION)
    store.setMeta('cause_id', 'x')
    store.close()
    expect(store.open).toBe(false)
    const again = new Store(path)
    expect(again.schemaVersion()).toBe(SCHEMA_VERSION)
    expect(again.getMeta('cause_id')).toBe('x')
    again.close()
  })

  it('writes take decoded values and reads give them back decoded', () => {
    const { store } = open()
    const row = newCandidate(1, oid(1), oid(0))
    store.insertCandidate(row, row.submission.body.nonce)
    expect(store.candidate(1)).toEqual({ ...row, reason: null, verdict: null, rounds: 1 })
    expect(store.nonceSeen(submitter.publicKey, row.submission.body.nonce)).toBe(true)
    store.addRound(1, [[1, 2, 3], [4, 5, 6]])
    expect(store.candidate(1)).toMatchObject({ seeds: [[1, 2, 3], [4, 5, 6]], rounds: 2, state: 'queued' })

    const job = store.insertJob({ candidate_seq: 1, baseline_oid: oid(0), seeds: [4, 5, 6], verifier: verifier.publicKey, leased_at: 1, lease_expires_at: 2, state: 'leased', round: 2 })
    expect(store.job(job)?.seeds).toEqual([4, 5, 6])
    const trials = [4, 5, 6].map((seed) => ({ seed, baseline: 0.5, candidate: 0.4, baselineLogDigest: 'd'.repeat(64), candidateLogDigest: 'e'.repeat(64) }))
    const body: AttestationBody = { type: 'attestation', causeId: 'cause', jobId: job, candidate: row.commit_oid, baseline: oid(0), trials, hardware, publicKey: verifier.publicKey, time: 5 }
    store.recordAttestation({ jobId: job, candidateSeq: 1, verifier: verifier.publicKey, body, signature: 'f'.repeat(128), at: 7 })
    expect(store.job(job)?.state).toBe('done')
    expect(store.attestationsFor(1)).toEqual([{ verifier: verifier.publicKey, body, round: 2, job_id: job, received_at: 7 }])
    expect(store.verificationRuns()).toEqual([{ verifier: verifier.publicKey, runs: 6 }])

    const verdict = {
      candidateSeq: 1, state: 'rejected' as const, meanImprovement: null, reason: 'no', seeds: [1, 2, 3, 4, 5, 6], trials: [], test: null,
      baselineMetric: null, candidateMetric: null, rounds: 2, claimContradicted: false, disagreeing: []
    }
    store.setCandidateState(1, 'rejected', 'no', verdict)
    expect(store.candidate(1)?.verdict).toEqual(verdict)
    store.setCandidateState(1, 'rejected', 'still no')
    expect(store.candidate(1)).toMatchObject({ reason: 'still no', verdict })
    store.close()
  })

  it('finds candidates on and off a best, and a candidate\'s latest rebase', () => {
    const { store } = open()
    for (const [seq, parent] of [[1, oid(0)], [2, oid(9)], [3, oid(0)]] as const) store.insertCandidate(newCandidate(seq, oid(seq), parent), null)
    store.setCandidateState(3, 'verifying')
    expect(store.candidatesOn(oid(0), ['queued']).map((c) => c.seq)).toEqual([1])
    expect(store.candidatesOn(oid(0), ['queued', 'verifying']).map((c) => c.seq)).toEqual([1, 3])
    expect(store.candidatesOff(oid(0)).map((c) => c.seq)).toEqual([2])
    expect(store.latestRebase(2)).toBeUndefined()
    store.insertCandidate(newCandidate(4, oid(2), oid(0), 2), null)
    store.insertCandidate(newCandidate(5, oid(2), oid(0), 2), null)
    expect(store.latestRebase(2)).toBe(5)
    // A second submission of a tree already submitted is refused; a rebase may carry it.
    expect(() => { store.insertCandidate(newCandidate(6, oid(1), oid(0)), null) }).toThrow(/UNIQUE/)
    store.close()
  })

  it('merges carry their number on the wire; a revert marks the merge and restores its parent', () => {
    const { store } = open()
    store.insertMerge({ commit_oid: oid(1), parent_oid: null, candidate_seq: null, metric: 0.5, baseline_metric: null, merged_at: 1, kind: 'initial' })
    store.insertMerge({ commit_oid: oid(2), parent_oid: oid(1), candidate_seq: 1, metric: 0.4, baseline_metric: 0.5, merged_at: 2, kind: 'merge' })
    const merge = store.lastMerge()!
    expect(merge.index).toBe(1)
    store.revertMerge({ ...merge, parent_oid: oid(1) }, 3)
    expect(store.merges().map((m) => [m.index, m.kind, m.commit_oid, m.metric, m.reverted_at])).toEqual([
      [0, 'initial', oid(1), 0.5, null], [1, 'merge', oid(2), 0.4, 3], [2, 'revert', oid(1), 0.5, null]
    ])
    expect(store.standingMerges()).toEqual([])
    expect(store.revertedMerge(oid(2))?.index).toBe(1)
    store.close()
  })

  it('opens read-only without writing, and only a database already migrated', () => {
    const { store, path } = open()
    store.setMeta('k', 'v')
    store.close()
    const reader = new Store(path, { readonly: true })
    expect(reader.getMeta('k')).toBe('v')
    expect(() => { reader.setMeta('k', 'w') }).toThrow(/readonly/)
    reader.close()
    const old = join(path, '..', 'old.db')
    copyFileSync(join(FIXTURES, 'today.db'), old)
    expect(() => new Store(old, { readonly: true })).toThrow(MigrationError)
  })
})

describe('what the site reads after each change', () => {
  it('an old home\'s tallies are counted from its rows, and every later write keeps them and the change marks', () => {
    const { store, path } = open('today.db')
    expect(store.tallies()).toEqual(store.views.talliesFromRows())
    const first = store.views.summariesTouchedAfter(-1)
    expect(first.rows.map((c) => c.seq)).toEqual([1, 2, 3])
    expect(store.views.summariesTouchedAfter(first.mark).rows).toEqual([])

    // A submission, a coordinator rebase of it, an attestation, a state change: each marks what it touched.
    const four = newCandidate(4, oid(4), oid(0))
    store.insertCandidate(four, four.submission.body.nonce)
    store.insertCandidate(newCandidate(5, oid(5), oid(0), 4), null)
    let look = store.views.summariesTouchedAfter(first.mark)
    expect(look.rows.map((c) => c.seq)).toEqual([4, 5])
    const job = store.insertJob({ candidate_seq: 5, baseline_oid: oid(0), seeds: [1, 2], verifier: verifier.publicKey, leased_at: 1, lease_expires_at: 2, state: 'leased', round: 1 })
    const trials = [1, 2].map((seed) => ({ seed, baseline: 0.5, candidate: 0.4, baselineLogDigest: 'd'.repeat(64), candidateLogDigest: 'e'.repeat(64) }))
    store.recordAttestation({ jobId: job, candidateSeq: 5, verifier: verifier.publicKey, body: { type: 'attestation', causeId: 'cause', jobId: job, candidate: oid(1005), baseline: oid(0), trials, hardware, publicKey: verifier.publicKey, time: 5 }, signature: 'f'.repeat(128), at: 9 })
    const attested = store.views.summariesTouchedAfter(look.mark)
    expect(attested.rows.map((c) => c.seq)).toEqual([5])
    expect(store.views.verifiedTimesOf([4, 5])).toEqual(new Map([[5, 9]]))
    const counted = store.countsByState()
    store.setCandidateState(4, 'rebased')
    store.setCandidateState(5, 'merged')
    // Counted again after a write, not kept from before it.
    expect(store.countsByState()).not.toEqual(counted)
    look = store.views.summariesTouchedAfter(attested.mark)
    expect(look.rows.map((c) => [c.seq, c.state])).toEqual([[4, 'rebased'], [5, 'merged']])
    expect(store.tallies()).toEqual(store.views.talliesFromRows())
    expect(store.views.submitters()).toBe(store.views.talliesFromRows().states.size)
    expect(store.views.verifiers()).toBe(store.views.talliesFromRows().runs.size)
    expect(store.views.latestAttestationPerVerifier().map((a) => a.jobId)).toContain(job)

    // A write by another process (the admin CLI's revert) is seen the same way.
    const other = new Store(path)
    const before = store.countsByState()
    other.setCandidateState(5, 'reverted', 'reverted by the operator')
    other.close()
    expect(store.countsByState()).toEqual({ ...before, merged: (before.merged ?? 0) - 1, reverted: (before.reverted ?? 0) + 1 })
    expect(store.views.summariesTouchedAfter(look.mark).rows.map((c) => [c.seq, c.state])).toEqual([[5, 'reverted']])
    expect(store.tallies()).toEqual(store.views.talliesFromRows())
    store.close()
  })

  it('a reader in another process gets the tallies and the rows they count from one snapshot, whatever is written between its reads', () => {
    const { store: writer, path } = open('today.db')
    const four = newCandidate(4, oid(4), oid(0))
    writer.insertCandidate(four, four.submission.body.nonce)
    const reader = new Store(path, { readonly: true })
    // Read apart, a write between the two reads makes them disagree (what the fault suite once reported as a lost tally)...
    const kept = reader.tallies()
    writer.setCandidateState(4, 'verifying')
    expect(reader.views.talliesFromRows()).not.toEqual(kept)
    // ...read in one transaction, they agree: the write lands after the snapshot.
    const both = reader.transaction(() => {
      const pair = { kept: reader.tallies(), counted: reader.views.talliesFromRows() }
      writer.setCandidateState(4, 'queued')
      return { ...pair, after: reader.views.talliesFromRows() }
    })
    expect(both.counted).toEqual(both.kept)
    expect(both.after).toEqual(both.kept)
    expect(reader.talliesKeptAndCounted().counted).toEqual(reader.talliesKeptAndCounted().kept)
    expect(reader.talliesKeptAndCounted().kept).not.toEqual(both.kept)
    reader.close()
    writer.close()
  })
})

describe('rejections on a base that died', () => {
  it('are the rejections on a candidate that never merged, read without walking every rejection; a base that merges clears its children', () => {
    const { store } = open()
    store.insertMerge({ commit_oid: oid(0), parent_oid: null, candidate_seq: null, metric: null, baseline_metric: null, merged_at: 1, kind: 'initial' })
    const put = (seq: number, parent: string): void => { const row = newCandidate(seq, oid(seq), parent); store.insertCandidate(row, row.submission.body.nonce) }
    put(1, oid(0)) // on the best
    put(2, oid(1001)) // on candidate 1, still in flight (speculation's copy)
    put(3, oid(0))
    put(4, oid(1003)) // on candidate 3
    store.setCandidateState(1, 'rejected')
    store.setCandidateState(2, 'rejected')
    store.setCandidateState(4, 'rejected')
    expect(store.rejectedOnDeadBases().map((c) => c.seq)).toEqual([2]) // 1 is on the best; 4's base is still open
    store.setCandidateState(3, 'merged') // its base became the best: 4's rejection stands
    store.insertMerge({ commit_oid: oid(1003), parent_oid: oid(0), candidate_seq: 3, metric: 0.3, baseline_metric: 0.4, merged_at: 2, kind: 'merge' })
    expect(store.rejectedOnDeadBases().map((c) => c.seq)).toEqual([2])
    put(5, oid(1003)) // on the new best (candidate 3's commit)
    store.setCandidateState(5, 'rejected')
    expect(store.rejectedOnDeadBases().map((c) => c.seq)).toEqual([2])
    store.setCandidateState(2, 'rebased') // carried back: no longer a rejection to carry
    expect(store.rejectedOnDeadBases()).toEqual([])
    store.close()
  })
})

describe('migrations of old homes', () => {
  it('a home made with the schema before migrations (user_version 0) opens migrated, its rows decoded', () => {
    const { store } = open('today.db')
    expect(store.schemaVersion()).toBe(SCHEMA_VERSION)
    expect(store.candidates().map((c) => [c.seq, c.state, c.origin_seq])).toEqual([[1, 'merged', null], [2, 'rebased', null], [3, 'queued', 2]])
    const merged = store.candidate(1)!
    expect(merged.verdict).toMatchObject({ state: 'accepted', meanImprovement: 0.1, seeds: [11, 12, 13], test: { passed: true }, seedSpread: null })
    expect(merged.seeds).toEqual([[11, 12, 13]])
    expect(merged.receipt.receipt).toMatchObject({ candidateSeq: 1, candidate: merged.commit_oid, tree: merged.tree_oid })
    expect(merged.submission.body).toMatchObject({ candidate: merged.commit_oid, description: 'change 1', profile: { name: 'ada' } })
    expect(store.candidate(3)?.tree_oid).toBe(store.candidate(2)?.tree_oid)
    expect(store.jobsFor(1)).toMatchObject([{ seeds: [11, 12, 13], state: 'done', round: 1 }])
    expect(store.attestationsFor(1)[0]?.body.trials).toHaveLength(3)
    expect(store.merges().map((m) => [m.index, m.kind])).toEqual([[0, 'initial'], [1, 'merge']])
    expect(store.seedPool(oid(1))).toEqual([11, 12, 13, 14, 15])
    expect(store.nextSeq()).toBe(4)
    expect(store.indexes('candidates')).toContainEqual({ name: 'candidates_original_tree', unique: true, partial: true })
    store.close()
  })

  it('an old home and a new one get the lookups the lease and intake paths read by, so neither slows as its history grows', () => {
    // What each lease turn and each submission reads by: a candidate's jobs and attestations, the
    // live leases, the candidates on a parent, a candidate's copies, a key's recent submissions
    // (docs/benchmarks.md, "A coordinator with a long history").
    for (const fixture of ['today.db', undefined]) {
      const { store } = open(fixture)
      const names = (table: 'candidates' | 'jobs' | 'attestations'): string[] => store.indexes(table).map((i) => i.name)
      expect(names('jobs')).toEqual(['jobs_candidate', 'jobs_state'])
      expect(names('attestations')).toContain('attestations_candidate')
      expect(names('candidates')).toEqual(expect.arrayContaining(['candidates_parent', 'candidates_origin', 'candidates_submitter']))
      store.close()
    }
  })

  it('a home made before the tree-uniqueness fix loses its table-wide unique tree, keeping rows and seqs', () => {
    const { store } = open('before-tree-fix.db')
    expect(store.schemaVersion()).toBe(SCHEMA_VERSION)
    expect(store.indexes('candidates')).toEqual([
      { name: 'candidates_origin', unique: false, partial: true },
      { name: 'candidates_original_tree', unique: true, partial: true },
      { name: 'candidates_parent', unique: false, partial: false },
      { name: 'candidates_received', unique: false, partial: false },
      { name: 'candidates_rejected_on_candidate', unique: false, partial: true },
      { name: 'candidates_state', unique: false, partial: false },
      { name: 'candidates_submitter', unique: false, partial: false },
      { name: 'candidates_touched', unique: false, partial: false },
      { name: 'candidates_tree', unique: false, partial: false },
      { name: 'sqlite_autoindex_candidates_1', unique: true, partial: false } // commit_oid
    ])
    expect(store.candidates().map((c) => [c.seq, c.state, c.verdict?.state ?? null])).toEqual([[1, 'merged', 'accepted'], [2, 'queued', null]])
    expect(store.attestationsFor(1)).toHaveLength(1)
    expect(store.nextSeq()).toBe(3)
    // What the old index refused: a rebase that carries candidate 2's own tree onto the new best.
    const two = store.candidate(2)!
    store.insertCandidate(newCandidate(3, two.tree_oid, oid(2), 2), null)
    expect(store.candidate(3)?.tree_oid).toBe(two.tree_oid)
    // Submitted trees stay unique, and jobs still reference candidates.
    expect(() => { store.insertCandidate(newCandidate(4, two.tree_oid, oid(2)), null) }).toThrow(/UNIQUE/)
    expect(() => store.insertJob({ candidate_seq: 99, baseline_oid: oid(2), seeds: [1], verifier: verifier.publicKey, leased_at: 1, lease_expires_at: 2, state: 'leased', round: 1 })).toThrow(/FOREIGN KEY/)
    store.close()
  })
})
