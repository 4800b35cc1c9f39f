import { describe, expect, it } from 'vitest'
import { fCdf, mean, pairedOneSidedTest, pooledVariance, studentTCdf } from './stats.ts'

describe('paired one-sided t-test', () => {
  it('matches Student t quantiles', () => {
    expect(studentTCdf(0, 5)).toBeCloseTo(0.5, 10)
    expect(studentTCdf(2.919986, 2)).toBeCloseTo(0.95, 5)
    expect(studentTCdf(1.812461, 10)).toBeCloseTo(0.95, 5)
    expect(studentTCdf(-2.763262, 28)).toBeCloseTo(0.005, 5)
  })

  it('accepts a clear gain beyond the margin and rejects one inside the noise', () => {
    expect(pairedOneSidedTest([0.05, 0.052, 0.049], 0.01, 0.95).passed).toBe(true)
    const noisy = pairedOneSidedTest([0.03, -0.01, 0.005], 0.01, 0.95)
    expect(noisy.passed).toBe(false)
    expect(noisy.pValue).toBeGreaterThan(0.05)
  })

  it('never accepts from one trial or a mean at the margin', () => {
    expect(pairedOneSidedTest([1], 0.01, 0.95).passed).toBe(false)
    expect(pairedOneSidedTest([0.01, 0.01, 0.01], 0.01, 0.95).passed).toBe(false)
    expect(pairedOneSidedTest([], 0.01, 0.95).passed).toBe(false)
  })
})

describe('F distribution', () => {
  it('matches reference values', () => {
    // scipy.stats.f.cdf
    expect(fCdf(0.5, 4, 4)).toBeCloseTo(0.2592593, 6)
    expect(fCdf(2, 2, 2)).toBeCloseTo(2 / 3, 8)
    expect(fCdf(0.3, 7, 3)).toBeCloseTo(0.0858745, 6)
    expect(fCdf(0, 4, 4)).toBe(0)
  })
})

describe('pooled variance', () => {
  it('pools the spread around each group\'s own mean; a group of one adds nothing', () => {
    expect(mean([1, 2, 3, 6])).toBe(3)
    expect(pooledVariance([[1, 3], [10, 12]])).toEqual({ variance: 2, dof: 2 })
    expect(pooledVariance([[1, 3], [100]])).toEqual({ variance: 2, dof: 1 })
    expect(pooledVariance([[5], []])).toEqual({ variance: 0, dof: 0 })
  })
})
