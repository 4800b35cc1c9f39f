import { describe, expect, it } from 'vitest'
import { experimentTsvLine } from './experiments.ts'

const commit = '0123456789abcdef0123456789abcdef01234567'
const cells = (line: string): string[] => line.split('\t')

describe('an experiment as a results.tsv line', () => {
  it('keeps keep, discard and crash (a crash\'s metric left empty)', () => {
    expect(experimentTsvLine({ commit, metric: 0.5, status: 'keep', description: 'lower lr' })).toBe('0123456\t0.500000\t0.0\tkeep\tlower lr')
    expect(cells(experimentTsvLine({ commit, metric: null, status: 'crash', description: 'oom' }))).toEqual(['0123456', '', '0.0', 'crash', 'oom'])
  })

  it('writes unconfirmed as a discard that says why, the note kept past the 300-character cut', () => {
    expect(cells(experimentTsvLine({ commit, metric: 0.7, status: 'unconfirmed', description: 'wider mlp' }))[3]).toBe('discard')
    expect(cells(experimentTsvLine({ commit, metric: 0.7, status: 'unconfirmed', description: 'wider mlp' }))[4]).toBe('wider mlp (not confirmed on a second seed)')
    const long = cells(experimentTsvLine({ commit, metric: 0.7, status: 'unconfirmed', description: 'x'.repeat(400) }))[4] as string
    expect(long).toHaveLength(300)
    expect(long.endsWith('x (not confirmed on a second seed)')).toBe(true)
    const formula = cells(experimentTsvLine({ commit, metric: 0.7, status: 'unconfirmed', description: `=${'y'.repeat(400)}` }))[4] as string
    expect(formula.startsWith("'=")).toBe(true)
    expect(formula.endsWith(' (not confirmed on a second seed)')).toBe(true)
  })

  it('defuses formulas and flattens tabs and line breaks in a stranger\'s description', () => {
    expect(cells(experimentTsvLine({ commit, metric: 1, status: 'discard', description: '  @SUM(A1)\tand\nmore' }))[4]).toBe("'@SUM(A1) and more")
    expect(cells(experimentTsvLine({ commit, metric: 1, status: 'keep', description: '-1 layer' }))[4]).toBe("'-1 layer")
    expect(cells(experimentTsvLine({ commit, metric: 1, status: 'keep', description: 'plain <b>text</b>' }))).toHaveLength(5)
  })
})
