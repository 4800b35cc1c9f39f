import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ResultsLog } from './results.ts'

describe('results.tsv', () => {
  it('writes autoresearch columns and reads them back', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ar-results-')), 'results.tsv')
    const log = new ResultsLog(path)
    log.append({ commit: 'a1b2c3d4e5f6', metric: 0.123456789, memoryGb: 0.04, status: 'keep', description: 'baseline' })
    log.append({ commit: 'b1b2c3d4e5f6', metric: null, memoryGb: 0, status: 'crash', description: 'tabs\tand\nnewlines' })
    // A crash's metric is empty: a 0 would read as the best result of a minimised metric.
    expect(readFileSync(path, 'utf8')).toBe('commit\tmetric\tmemory_gb\tstatus\tdescription\na1b2c3d\t0.123457\t0.0\tkeep\tbaseline\nb1b2c3d\t\t0.0\tcrash\ttabs and newlines\n')
    expect(new ResultsLog(path).read().map((r) => [r.status, r.metric])).toEqual([['keep', 0.123457], ['crash', null]])
  })
})
