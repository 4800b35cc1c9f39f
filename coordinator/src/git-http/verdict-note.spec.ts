import { describe, expect, it } from 'vitest'
import type { MergeRow, StoredVerdict } from '../store/index.ts'
import { verdictNote, type NoteFacts } from './verdict-note.ts'

const verdict: StoredVerdict = {
  candidateSeq: 3, state: 'accepted', meanImprovement: 0.2, reason: 'passed', seeds: [11, 12],
  trials: [
    { seed: 11, baseline: 1, candidate: 0.8, verifier: 'v1' },
    { seed: 12, baseline: 1.1, candidate: 0.9, verifier: 'v2' },
    { seed: 12, baseline: 1.1, candidate: 1.5, verifier: 'outlier' }
  ] as StoredVerdict['trials'],
  test: { n: 2, mean: 0.2, sd: 0.01, margin: 0.01, t: 20, pValue: 0.0123456789, confidence: 0.95, passed: true },
  baselineMetric: 1.05, candidateMetric: 0.85, rounds: 1, claimContradicted: false, disagreeing: ['outlier']
}
const merge: MergeRow = { seq: 2, index: 1, commit_oid: 'c'.repeat(40), parent_oid: 'p'.repeat(40), candidate_seq: 3, metric: 0.85, baseline_metric: 1.05, merged_at: Date.UTC(2026, 0, 2), kind: 'merge', reverted_at: null }
const facts = (over: Partial<NoteFacts> = {}): NoteFacts => ({
  merge, candidate: { seq: 3, description: 'lower lr\nand more', verdict }, authors: ['author-key'], members: [],
  metric: { name: 'loss', direction: 'minimize' }, verification: { minImprovement: 0.02, confidence: 0.95 }, ...over
})

describe('verdict note', () => {
  it('tells the merge, its figures and who measured it, one trailer a line', () => {
    expect(verdictNote(facts())).toBe([
      'autoresearch: verified merge 1 of candidate #3: lower lr and more',
      '',
      'Merge: 1',
      'Candidate: #3',
      'Author-key: author-key',
      'Metric: loss 0.85 (baseline 1.05, minimize)',
      'Verified-gain: 0.2',
      'Min-improvement: 0.02 at 95% confidence',
      'P-value: 0.0123457',
      'Trials: 2 in 1 round(s)',
      'Seeds: 11, 12',
      'Verifier-key: v1',
      'Verifier-key: v2',
      'Merged-at: 2026-01-02T00:00:00.000Z',
      ''
    ].join('\n'))
  })

  it('names a group\'s members and authors, and a revert', () => {
    const note = verdictNote(facts({ authors: ['a1', 'a2'], members: [4, 5], merge: { ...merge, reverted_at: Date.UTC(2026, 0, 3) } }))
    expect(note).toContain('Group-members: #4, #5\nAuthor-key: a1\nAuthor-key: a2\n')
    expect(note).toMatch(/^Reverted-at: 2026-01-03T00:00:00\.000Z$/m)
  })

  it('keeps a long description on one bounded line', () => {
    const note = verdictNote(facts({ candidate: { seq: 3, description: `x\u001b[31m${'y'.repeat(500)}`, verdict } }))
    const title = note.split('\n')[0] as string
    expect(title).not.toContain('\u001b')
    expect(title.length).toBeLessThan(260)
  })
})
