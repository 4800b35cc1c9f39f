import { describe, expect, it } from 'vitest'
import { carriedClaim, type MergeOf } from './carried-claim.ts'

/** Merges by the commit they made the best. */
const chain = (rows: Record<string, { parent_oid: string | null, metric: number | null, baseline_metric: number | null }>): MergeOf => (commit) => rows[commit]

describe('carriedClaim', () => {
  it('moves a claim by the verified gain of the merge it was carried over', () => {
    // Loss: b0 measured 8.5, b1 merged at 8.0 on the same seeds; a claim of 8.1 on b0 is a claim of 7.6 on b1.
    const mergeOf = chain({ b1: { parent_oid: 'b0', metric: 8.0, baseline_metric: 8.5 } })
    expect(carriedClaim(8.1, 'b0', 'b1', mergeOf)).toBeCloseTo(7.6, 10)
  })

  it('adds up the gains of several merges, in either direction of the metric', () => {
    const mergeOf = chain({
      b1: { parent_oid: 'b0', metric: 0.70, baseline_metric: 0.60 },
      b2: { parent_oid: 'b1', metric: 0.75, baseline_metric: 0.71 }
    })
    // An accuracy claim of 0.65 on b0 (+0.05) is 0.79 on b2 (+0.14 between).
    expect(carriedClaim(0.65, 'b0', 'b2', mergeOf)).toBeCloseTo(0.79, 10)
    expect(carriedClaim(0.72, 'b1', 'b2', mergeOf)).toBeCloseTo(0.76, 10)
  })

  it('on the best itself the claim is unchanged', () => {
    expect(carriedClaim(3, 'b0', 'b0', chain({}))).toBe(3)
  })

  it('keeps the claim where the way back is not all verified merges', () => {
    // A revert or a program update in between, or a parent not on the best's line.
    expect(carriedClaim(8.1, 'b0', 'b2', chain({ b2: { parent_oid: 'b1', metric: 7.5, baseline_metric: 8.0 } }))).toBe(8.1)
    expect(carriedClaim(8.1, 'b0', 'b1', chain({ b1: { parent_oid: 'b0', metric: null, baseline_metric: null } }))).toBe(8.1)
    expect(carriedClaim(8.1, 'elsewhere', 'b1', chain({ b1: { parent_oid: 'b0', metric: 8.0, baseline_metric: 8.5 }, b0: { parent_oid: null, metric: null, baseline_metric: null } }))).toBe(8.1)
  })

  it('stops on a cycle', () => {
    const mergeOf = chain({ a: { parent_oid: 'b', metric: 1, baseline_metric: 2 }, b: { parent_oid: 'a', metric: 1, baseline_metric: 2 } })
    expect(carriedClaim(5, 'x', 'a', mergeOf, 50)).toBe(5)
  })
})
