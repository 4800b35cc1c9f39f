import { describe, expect, it } from 'vitest'
import { resultExtras, Trial } from '@autoresearch/protocol'
import { extraFigures } from './extras.ts'

describe('extra result figures', () => {
  it('keeps the numeric fields beside the metric, by name, within the bound', () => {
    expect(resultExtras({ metric: 1.2, val_bpb: 1.2, params: 52_000, note: 'text', nan: Number.NaN, 'bad name!': 3 })).toEqual({ params: 52_000, val_bpb: 1.2 })
    expect(resultExtras({ metric: 1 })).toBeUndefined()
    const many = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${String(i).padStart(2, '0')}`, i]))
    expect(Object.keys(resultExtras(many) ?? {})).toEqual(['f00', 'f01', 'f02', 'f03', 'f04', 'f05', 'f06', 'f07'])
  })

  it('travels in a trial only as a few finite numbers with plain names', () => {
    const trial = { seed: 1, baseline: 1, candidate: 0.9, baselineLogDigest: 'a'.repeat(64), candidateLogDigest: 'b'.repeat(64) }
    expect(Trial.parse({ ...trial, candidateExtras: { params: 5 } }).candidateExtras).toEqual({ params: 5 })
    expect(Trial.safeParse({ ...trial, candidateExtras: { params: 'five' } }).success).toBe(false)
    expect(Trial.safeParse({ ...trial, candidateExtras: { '<script>': 1 } }).success).toBe(false)
    expect(Trial.safeParse({ ...trial, candidateExtras: Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`f${i}`, i])) }).success).toBe(false)
  })

  it('averages each figure per side over the runs that reported it', () => {
    const figures = extraFigures([
      { baselineExtras: { params: 100, n_val: 10 }, candidateExtras: { params: 120 } },
      { baselineExtras: { params: 100 }, candidateExtras: { params: 140, n_val: 10 } },
      {}
    ])
    expect(figures).toEqual([
      { name: 'n_val', baseline: 10, candidate: 10, baselineRuns: 1, candidateRuns: 1 },
      { name: 'params', baseline: 100, candidate: 130, baselineRuns: 2, candidateRuns: 2 }
    ])
    expect(extraFigures([{}])).toEqual([])
  })
})
