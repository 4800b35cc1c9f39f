import { describe, expect, it } from 'vitest'
import { candidatesCsvStream, CSV_SLICE, defuse, resultsTsv, toCsv } from './csv.ts'
import type { CandidateSummary } from './queries/index.ts'

const summary = (seq: number, over: Partial<CandidateSummary> = {}): CandidateSummary => ({ seq, commit: 'c'.repeat(40), parent: 'p'.repeat(40), submitter: 'k', submitterName: null, team: null, originSeq: null, state: 'merged', reason: null, description: 'a\tb\nc', claimedMetric: 1, verifiedMetric: 0.9, baselineMetric: 1, meanImprovement: 0.1, claimContradicted: false, receivedAt: 0, verifiedAt: null, ...over })

/** The chunks a stream gives, in order. */
async function chunks (stream: ReadableStream<Uint8Array>): Promise<string[]> {
  const out: string[] = []
  const decoder = new TextDecoder()
  for await (const chunk of stream) out.push(decoder.decode(chunk))
  return out
}

describe('exports', () => {
  it('defuses spreadsheet formulas in text cells only', () => {
    for (const s of ['=1+1', '+1', '-2', '@SUM(A1)', '\tx', '  =cmd']) expect(defuse(s)).toBe(`'${s}`)
    expect(defuse('plain')).toBe('plain')
    expect(toCsv(['a', 'b'], [[-0.5, '-0.5'], ['x,"y"', 'line\nbreak']])).toBe('a,b\r\n-0.5,\'-0.5\r\n"x,""y""","line\nbreak"\r\n')
  })

  it('candidates.csv and results.tsv keep one record per row', async () => {
    const csv = (await chunks(candidatesCsvStream([summary(1)]))).join('')
    expect(csv.split('\r\n')).toHaveLength(3)
    expect((await chunks(candidatesCsvStream([]))).join('')).toMatch(/^seq,commit,.*,reason\r\n$/)
    const tsv = resultsTsv([
      { seq: 0, kind: 'initial', commit: 'a'.repeat(40), parent: null, candidateSeq: null, submitter: null, submitterName: null, description: null, metric: null, baselineMetric: null, gain: null, mergedAt: 0, revertedAt: null },
      { seq: 1, kind: 'merge', commit: 'b'.repeat(40), parent: 'a'.repeat(40), candidateSeq: 1, submitter: 'k', submitterName: null, description: 'tab\there\nnewline', metric: 0.5, baselineMetric: 0.6, gain: 0.1, mergedAt: 1, revertedAt: null },
      { seq: 2, kind: 'merge', commit: 'c'.repeat(40), parent: 'b'.repeat(40), candidateSeq: 2, submitter: 'k', submitterName: null, description: 'gone', metric: 0.4, baselineMetric: 0.5, gain: 0.1, mergedAt: 2, revertedAt: 3 },
      { seq: 3, kind: 'revert', commit: 'b'.repeat(40), parent: 'c'.repeat(40), candidateSeq: null, submitter: null, submitterName: null, description: null, metric: 0.5, baselineMetric: null, gain: null, mergedAt: 3, revertedAt: null }
    ], 0.61)
    expect(tsv).toBe('commit\tmetric\tmemory_gb\tstatus\tdescription\naaaaaaa\t0.610000\t0.0\tkeep\tbaseline\nbbbbbbb\t0.500000\t0.0\tkeep\ttab here newline\n')
  })

  it('candidates.csv comes in slices with the event loop free between them, each record as its summary says', async () => {
    const rows = Array.from({ length: 2 * CSV_SLICE + 1 }, (_, i) => summary(i + 1, { description: `d${i + 1}` }))
    let turns = 0
    const tick = (): void => { turns++; if (turns < 10) setImmediate(tick) }
    setImmediate(tick)
    const parts = await chunks(candidatesCsvStream(rows))
    // The header with the first slice, then two more: a turn of the loop ran while it was written.
    expect(parts).toHaveLength(3)
    expect(turns).toBeGreaterThanOrEqual(2)
    const lines = parts.join('').split('\r\n').slice(1, -1)
    expect(lines).toHaveLength(rows.length)
    expect(lines[CSV_SLICE]).toMatch(new RegExp(`^${CSV_SLICE + 1},.*,d${CSV_SLICE + 1},$`))
    // A candidate that changed is a new summary, and its record is written anew.
    const changed = [...rows.slice(0, -1), summary(rows.length, { state: 'rejected', description: 'again' })]
    const after = (await chunks(candidatesCsvStream(changed))).join('').split('\r\n').slice(1, -1)
    expect(after.slice(0, -1)).toEqual(lines.slice(0, -1))
    expect(after.at(-1)).toMatch(/,rejected,.*,again,$/)
  })
})
