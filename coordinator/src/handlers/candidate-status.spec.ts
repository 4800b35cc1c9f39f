import { UnknownCandidateError } from '@autoresearch/protocol'
import { describe, expect, it } from 'vitest'
import type { CandidateRow, StoredVerdict } from '../store/index.ts'
import { candidateStatus } from './candidate-status.ts'

const row = (seq: number, o: Partial<CandidateRow>): CandidateRow =>
  ({ seq, state: 'queued', reason: null, origin_seq: null, verdict: null, ...o }) as CandidateRow

function storeOf (rows: CandidateRow[]) {
  return {
    candidate: (seq: number) => rows.find((r) => r.seq === seq),
    latestRebase: (origin: number) => rows.filter((r) => r.origin_seq === origin).map((r) => r.seq).at(-1)
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
})
