import { UnknownCandidateError } from '@autoresearch/protocol'
import { describe, expect, it } from 'vitest'
import type { CandidateRow, StoredVerdict } from '../store/index.ts'
import { candidateStatus } from './candidate-status.ts'

const row = (seq: number, o: Partial<CandidateRow>): CandidateRow =>
  ({ seq, state: 'queued', reason: null, origin_seq: null, verdict: null, ...o }) as CandidateRow

function storeOf (rows: CandidateRow[], merged = ['best']) {
  return {
    candidate: (seq: number) => rows.find((r) => r.seq === seq),
    latestRebase: (origin: number) => rows.filter((r) => r.origin_seq === origin).map((r) => r.seq).at(-1),
    isMergedCommit: (commit: string) => merged.includes(commit)
  }
}

describe('candidate status', () => {
  it('refuses a candidate that does not exist', () => {
    expect(() => candidateStatus(storeOf([]), 7)).toThrow(UnknownCandidateError)
  })

  it('answers state, reason and the verified gain', () => {
    const verdict = { meanImprovement: 0.25 } as StoredVerdict
    expect(candidateStatus(storeOf([row(1, { state: 'merged', reason: 'accepted', verdict })]), 1))
      .toEqual({ ok: true, seq: 1, state: 'merged', reason: 'accepted', rebasedAs: null, meanImprovement: 0.25 })
  })

  it('names the newest rebase of a rebased candidate, following the chain from its origin', () => {
    const rows = [row(1, { state: 'rebased' }), row(2, { state: 'rebased', origin_seq: 1 }), row(3, { origin_seq: 1 })]
    const store = storeOf(rows)
    expect(candidateStatus(store, 1).rebasedAs).toBe(3)
    expect(candidateStatus(store, 2).rebasedAs).toBe(3)
    expect(candidateStatus(store, 3).rebasedAs).toBeNull()
  })

  it('says a rejection measured on top of a candidate that has not merged is provisional, one measured on a best is not', () => {
    const rows = [row(1, { state: 'rejected', parent_oid: 'best' }), row(2, { state: 'rejected', parent_oid: 'candidate-a' }), row(3, { state: 'passed', parent_oid: 'candidate-a' })]
    expect(candidateStatus(storeOf(rows), 1)).not.toHaveProperty('provisional')
    expect(candidateStatus(storeOf(rows), 2).provisional).toBe(true)
    expect(candidateStatus(storeOf(rows), 3)).not.toHaveProperty('provisional')
    // Once the candidate it was measured on merges, the rejection stands.
    expect(candidateStatus(storeOf(rows, ['best', 'candidate-a']), 2)).not.toHaveProperty('provisional')
  })
})
