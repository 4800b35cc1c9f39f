import { describe, expect, it } from 'vitest'
import { pairedOneSidedTest, studentTCdf } from '../src/index.ts'

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
