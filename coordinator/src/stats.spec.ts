import { describe, expect, it } from 'vitest'
import { chiSquareCdf, chiSquareQuantile, fCdf, mean, normalCdf, pairedOneSidedTest, pairedTestPower, pooledVariance, studentTCdf, tQuantile } from './stats.ts'

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

  it('a deterministic cause (no spread): a constant gain beyond the margin passes, equal metrics and a gain at the margin do not', () => {
    expect(pairedOneSidedTest([0.02, 0.02], 0.005, 0.95)).toMatchObject({ passed: true, sd: 0, t: null, pValue: 0 })
    expect(pairedOneSidedTest([0, 0], 0.005, 0.95)).toMatchObject({ passed: false, pValue: 1 })
    expect(pairedOneSidedTest([0.005, 0.005, 0.005], 0.005, 0.95).passed).toBe(false)
    // Differences of identical floats summed in another order can differ in the last bit: still no spread.
    const gain = 2.0243635795720760 - 1.9869787599562704
    expect(pairedOneSidedTest([gain, gain, gain], 0.005, 0.95).passed).toBe(true)
    expect(pairedOneSidedTest([-gain, -gain], 0.005, 0.95).passed).toBe(false)
    // A constant gain exactly at the margin never passes, whatever the rounding of its mean.
    for (const v of [0.1, 0.07, 0.013, 0.0301]) {
      for (const n of [3, 5, 7]) expect(pairedOneSidedTest(Array<number>(n).fill(v), v, 0.95)).toMatchObject({ passed: false, sd: 0 })
    }
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

describe('distributions for check\'s trade-off table', () => {
  it('match reference values (scipy.stats)', () => {
    expect(tQuantile(0.95, 4)).toBeCloseTo(2.131847, 5)
    expect(tQuantile(0.95, 1)).toBeCloseTo(6.313752, 4)
    expect(normalCdf(1.2345)).toBeCloseTo(0.8914917, 6)
    expect(normalCdf(-1.2345)).toBeCloseTo(1 - 0.8914917, 6)
    expect(chiSquareCdf(3, 2)).toBeCloseTo(0.7768698, 7)
    expect(chiSquareCdf(3, 7)).toBeCloseTo(0.1149978, 7)
    expect(chiSquareQuantile(0.05, 1)).toBeCloseTo(0.00393214, 7)
    expect(chiSquareQuantile(0.95, 2)).toBeCloseTo(5.991465, 5)
    expect(chiSquareQuantile(0.05, 7)).toBeCloseTo(2.167350, 5)
  })

  it('power of the paired one-sided t-test: the noncentral t (scipy.stats.nct), and the test\'s own level with no gain', () => {
    // shift = noncentrality / √n
    expect(pairedTestPower(2, 3 / Math.SQRT2, 0.95)).toBeCloseTo(0.3611954, 5)
    expect(pairedTestPower(5, 1, 0.95)).toBeCloseTo(0.5797374, 5)
    expect(pairedTestPower(27, 0.5, 0.95)).toBeCloseTo(0.8118316, 5)
    for (const n of [2, 3, 8]) expect(pairedTestPower(n, 0, 0.95)).toBeCloseTo(0.05, 5)
    expect(pairedTestPower(1, 5, 0.95)).toBe(0)
    // More pairs, more power.
    expect(pairedTestPower(8, 1, 0.95)).toBeGreaterThan(pairedTestPower(3, 1, 0.95))
  })
})
