import { describe, expect, it } from 'vitest'
import { MAX_PROGRAM_BYTES, programProblem, programRow } from './program-update.ts'
import type { MergeRow } from './store/index.ts'

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('program update', () => {
  it('takes UTF-8 text up to what a worker takes', () => {
    expect(programProblem(bytes('# Try smaller learning rates\n'))).toBeUndefined()
    expect(programProblem(bytes(''))).toMatch(/empty/)
    expect(programProblem(new Uint8Array([0xff, 0xfe, 0x00]))).toMatch(/not UTF-8/)
    expect(programProblem(new Uint8Array(MAX_PROGRAM_BYTES + 1).fill(65))).toMatch(/at most/)
  })

  it('records the update on the best, keeping its verified metric', () => {
    const best: MergeRow = { seq: 3, index: 2, commit_oid: 'b'.repeat(40), parent_oid: 'a'.repeat(40), candidate_seq: 4, metric: 0.42, baseline_metric: 0.5, merged_at: 1, kind: 'merge', reverted_at: null }
    expect(programRow(best, 'c'.repeat(40), 9)).toEqual({ commit_oid: 'c'.repeat(40), parent_oid: best.commit_oid, candidate_seq: null, metric: 0.42, baseline_metric: null, merged_at: 9, kind: 'program' })
  })
})
