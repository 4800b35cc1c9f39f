import { describe, expect, it } from 'vitest'
import { candidatesCsv, defuse, resultsTsv, toCsv } from './csv.ts'

describe('exports', () => {
  it('defuses spreadsheet formulas in text cells only', () => {
    for (const s of ['=1+1', '+1', '-2', '@SUM(A1)', '\tx', '  =cmd']) expect(defuse(s)).toBe(`'${s}`)
    expect(defuse('plain')).toBe('plain')
    expect(toCsv(['a', 'b'], [[-0.5, '-0.5'], ['x,"y"', 'line\nbreak']])).toBe('a,b\r\n-0.5,\'-0.5\r\n"x,""y""","line\nbreak"\r\n')
  })

  it('candidates.csv and results.tsv keep one record per row', () => {
    const csv = candidatesCsv([{ seq: 1, commit: 'c'.repeat(40), parent: 'p'.repeat(40), submitter: 'k', submitterName: null, team: null, originSeq: null, state: 'merged', reason: null, description: 'a\tb\nc', claimedMetric: 1, verifiedMetric: 0.9, baselineMetric: 1, meanImprovement: 0.1, claimContradicted: false, receivedAt: 0, verifiedAt: null }])
    expect(csv.split('\r\n')).toHaveLength(3)
    const tsv = resultsTsv([
      { seq: 0, kind: 'initial', commit: 'a'.repeat(40), parent: null, candidateSeq: null, submitter: null, submitterName: null, description: null, metric: null, baselineMetric: null, gain: null, mergedAt: 0, revertedAt: null },
      { seq: 1, kind: 'merge', commit: 'b'.repeat(40), parent: 'a'.repeat(40), candidateSeq: 1, submitter: 'k', submitterName: null, description: 'tab\there\nnewline', metric: 0.5, baselineMetric: 0.6, gain: 0.1, mergedAt: 1, revertedAt: null },
      { seq: 2, kind: 'merge', commit: 'c'.repeat(40), parent: 'b'.repeat(40), candidateSeq: 2, submitter: 'k', submitterName: null, description: 'gone', metric: 0.4, baselineMetric: 0.5, gain: 0.1, mergedAt: 2, revertedAt: 3 },
      { seq: 3, kind: 'revert', commit: 'b'.repeat(40), parent: 'c'.repeat(40), candidateSeq: null, submitter: null, submitterName: null, description: null, metric: 0.5, baselineMetric: null, gain: null, mergedAt: 3, revertedAt: null }
    ], 0.61)
    expect(tsv).toBe('commit\tmetric\tmemory_gb\tstatus\tdescription\naaaaaaa\t0.610000\t0.0\tkeep\tbaseline\nbbbbbbb\t0.500000\t0.0\tkeep\ttab here newline\n')
  })
})
