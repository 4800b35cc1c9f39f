import { describe, expect, it } from 'vitest'
import { Unformed } from './batch.ts'
import type { CandidateRow } from './store/index.ts'

const rows = (...seqs: number[]): CandidateRow[] => seqs.map((seq) => ({ seq }) as CandidateRow)

describe('batches that did not form', () => {
  it('are known by their parent and their members in order', () => {
    const unformed = new Unformed()
    unformed.add(Unformed.key('p', rows(3, 5)))
    expect(unformed.has(Unformed.key('p', rows(3, 5)))).toBe(true)
    expect(unformed.has(Unformed.key('p', rows(5, 3)))).toBe(false)
    expect(unformed.has(Unformed.key('q', rows(3, 5)))).toBe(false)
    expect(unformed.has(Unformed.key('p', rows(3, 5, 7)))).toBe(false)
  })

  it('are remembered up to a bound, the oldest forgotten first', () => {
    const unformed = new Unformed()
    for (let i = 0; i < 300; i++) unformed.add(Unformed.key(`p${i}`, rows(1, 2)))
    expect(unformed.has(Unformed.key('p0', rows(1, 2)))).toBe(false)
    expect(unformed.has(Unformed.key('p43', rows(1, 2)))).toBe(false)
    expect(unformed.has(Unformed.key('p44', rows(1, 2)))).toBe(true)
    expect(unformed.has(Unformed.key('p299', rows(1, 2)))).toBe(true)
  })
})
