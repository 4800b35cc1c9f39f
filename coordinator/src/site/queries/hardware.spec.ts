import { describe, expect, it } from 'vitest'
import { bestPerClass, type VerifiedMerge } from './hardware.ts'

const H100 = 'gpu:NVIDIA H100 80GB HBM3 (80 GiB) x1'
const A100 = 'gpu:NVIDIA A100-SXM4-40GB (40 GiB) x1'

const merge = (seq: number, runs: Array<[string, number]>): VerifiedMerge => ({
  mergeSeq: seq, commit: String(seq).repeat(40).slice(0, 40), candidateSeq: 10 + seq, mergedAt: 1000 * seq,
  runs: runs.map(([hardware, metric], i) => ({ seed: i, metric, hardware }))
})

describe('best per hardware class', () => {
  it('gives each class the newest best it verified, with the mean of its own runs there', () => {
    const rows = bestPerClass([merge(1, [[H100, 1.0], [H100, 1.2], [A100, 1.5]]), merge(2, [[H100, 0.9], [H100, 0.7]])])
    expect(rows).toEqual([
      { class: H100, mergeSeq: 2, commit: merge(2, []).commit, candidateSeq: 12, mergedAt: 2000, metric: 0.8, runs: 2 },
      { class: A100, mergeSeq: 1, commit: merge(1, []).commit, candidateSeq: 11, mergedAt: 1000, metric: 1.5, runs: 1 }
    ])
  })

  it('puts the reference class first, and has no row for a class that verified nothing', () => {
    const merges = [merge(1, [[A100, 1.5]]), merge(2, [[H100, 0.9]])]
    expect(bestPerClass(merges, A100).map((r) => r.class)).toEqual([A100, H100])
    expect(bestPerClass(merges, 'cpu:other x2 (8 GiB)').map((r) => r.class)).toEqual([H100, A100])
    expect(bestPerClass([merge(1, [])])).toEqual([])
    expect(bestPerClass([])).toEqual([])
  })
})
