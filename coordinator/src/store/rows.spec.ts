import { describe, expect, it } from 'vitest'
import { CorruptRowError, decodeAttestation, decodeCandidate, decodeJob, decodeMerge, maybe } from './rows.ts'

const hex = (c: string, n: number): string => c.repeat(n)
const receipt = { type: 'receipt', causeId: 'c', candidateSeq: 1, candidate: hex('1', 40), tree: hex('2', 40), submitter: hex('a', 64), receivedAt: 5 }
const submission = {
  type: 'submission', causeId: 'c', parent: hex('0', 40), candidate: hex('1', 40), packSha256: hex('b', 64), claimedMetric: 0.4,
  logDigest: hex('c', 64), description: 'd', publicKey: hex('a', 64), nonce: hex('e', 32), time: 5
}
const stored = {
  seq: 1, commit_oid: hex('1', 40), tree_oid: hex('2', 40), parent_oid: hex('0', 40), submitter: hex('a', 64), claimed_metric: 0.4, description: 'd',
  received_at: 5, state: 'queued', reason: null, seeds: '[[1,2],[3]]', receipt: JSON.stringify({ receipt, signature: 's' }),
  submission: JSON.stringify({ body: submission, signature: 't' }), verdict: null, origin_seq: null, rounds: 2
}

describe('row decoders', () => {
  it('parse a candidate\'s JSON columns once', () => {
    expect(decodeCandidate(stored)).toEqual({ ...stored, seeds: [[1, 2], [3]], receipt: { receipt, signature: 's' }, submission: { body: submission, signature: 't' } })
  })

  it('decode a stored verdict, and refuse one that is not a verdict', () => {
    const verdict = {
      candidateSeq: 1, state: 'pending', meanImprovement: null, reason: '', seeds: [1, 2, 3], trials: [], test: null,
      baselineMetric: null, candidateMetric: null, rounds: 1, claimContradicted: false, disagreeing: []
    }
    expect(decodeCandidate({ ...stored, verdict: JSON.stringify(verdict) }).verdict).toEqual(verdict)
    expect(() => decodeCandidate({ ...stored, verdict: JSON.stringify({ ...verdict, state: 'maybe' }) })).toThrow(CorruptRowError)
  })

  it('name the table of a row that does not decode', () => {
    expect(() => decodeCandidate({ ...stored, seeds: '[[1,' })).toThrow(/a row of candidates does not decode.*not JSON/s)
    expect(() => decodeCandidate({ ...stored, state: 'lost' })).toThrow(CorruptRowError)
    expect(() => decodeJob({ id: 1, candidate_seq: 1, baseline_oid: 'x', seeds: '{"a":1}', verifier: 'v', leased_at: 1, lease_expires_at: 2, state: 'leased', round: 1 }))
      .toThrow(/a row of jobs does not decode/)
  })

  it('give a merge its number on the wire (one less than its row key)', () => {
    const row = { seq: 1, commit_oid: hex('1', 40), parent_oid: null, candidate_seq: null, metric: null, baseline_metric: null, merged_at: 1, kind: 'initial', reverted_at: null }
    expect(decodeMerge(row).index).toBe(0)
    expect(decodeMerge({ ...row, seq: 8, kind: 'revert' }).index).toBe(7)
  })

  it('decode an attestation body with the wire schema', () => {
    const body = { type: 'attestation', causeId: 'c', jobId: 1, candidate: hex('1', 40), baseline: hex('0', 40), trials: [{ seed: 1, baseline: 1, candidate: null, baselineLogDigest: hex('d', 64), candidateLogDigest: hex('d', 64), failure: 'timeout' }], hardware: { class: 'cpu', cpus: 1, gpus: [] }, publicKey: hex('a', 64), time: 3 }
    expect(decodeAttestation({ verifier: 'v', body: JSON.stringify(body), round: 1, job_id: 1, received_at: 4 }).body).toEqual(body)
    expect(() => decodeAttestation({ verifier: 'v', body: JSON.stringify({ ...body, trials: [] }), round: 1, job_id: 1, received_at: 4 })).toThrow(CorruptRowError)
  })

  it('leave an absent row absent', () => {
    expect(maybe(decodeMerge)(undefined)).toBeUndefined()
  })
})
