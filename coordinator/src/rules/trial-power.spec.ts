import { describe, expect, it } from 'vitest'
import { pairedTestPower } from '../stats.ts'
import { trialTradeOff } from './trial-power.ts'

describe('check\'s trade-off between trials and verification time', () => {
  const input = { sd: 0.01, runs: 3, runSeconds: 60, minImprovement: 0.01, confidence: 0.95 }

  it('shows 2, 3, 5 and 8 trials (and the manifest\'s count), each with its time: trials × 2 runs × one run', () => {
    const t = trialTradeOff({ ...input, extraTrials: [4, 8, 40] })
    expect(t.rows.map((r) => r.trials)).toEqual([2, 3, 4, 5, 8])
    expect(t.rows.map((r) => r.seconds)).toEqual([240, 360, 480, 600, 960])
  })

  it('power against a gain of the margin plus minImprovement grows with the trials and is the noncentral t\'s', () => {
    const t = trialTradeOff(input)
    expect(t.gain).toBeCloseTo(0.02, 12)
    const powers = t.rows.map((r) => r.power)
    expect([...powers].sort((a, b) => a - b)).toEqual(powers)
    // Shift of one paired σ: minImprovement / (√2 σ).
    expect(t.rows[3]?.power).toBeCloseTo(pairedTestPower(8, 1 / Math.SQRT2, 0.95), 10)
    // The gain that passes 80 % of the time falls with more trials, and has that power.
    const row = t.rows[2]!
    expect(pairedTestPower(5, (row.gainFor80 - 0.01) / (Math.SQRT2 * 0.01), 0.95)).toBeCloseTo(0.8, 4)
    expect(t.rows.map((r) => r.gainFor80)).toEqual([...t.rows.map((r) => r.gainFor80)].sort((a, b) => b - a))
  })

  it('says how uncertain σ from a few runs is: its 90 % interval, and the power at both ends', () => {
    const three = trialTradeOff(input)
    // chi-square with 2 df: 0.1026 and 5.991 (scipy.stats.chi2.ppf).
    expect(three.sdRange?.[0]).toBeCloseTo(0.01 * Math.sqrt(2 / 5.991465), 6)
    expect(three.sdRange?.[1]).toBeCloseTo(0.01 * Math.sqrt(2 / 0.1025866), 6)
    for (const r of three.rows) {
      expect(r.powerRange[0]).toBeLessThan(r.power)
      expect(r.powerRange[1]).toBeGreaterThan(r.power)
    }
    // More runs, a narrower range.
    const eight = trialTradeOff({ ...input, runs: 8 })
    const width = (t: typeof three): number => (t.sdRange![1] - t.sdRange![0]) / t.sd
    expect(width(eight)).toBeLessThan(width(three) / 2)
    expect(trialTradeOff({ ...input, runs: 1 }).sdRange).toBeNull()
  })

  it('a deterministic cause (σ = 0): two trials pass any gain above the margin; with no margin, power is measured against σ', () => {
    const t = trialTradeOff({ ...input, sd: 0 })
    expect(t.sdRange).toEqual([0, 0])
    expect(t.rows.every((r) => r.power === 1 && r.gainFor80 === 0.01)).toBe(true)
    const noMargin = trialTradeOff({ ...input, minImprovement: 0 })
    expect(noMargin.gain).toBe(0.01)
    expect(noMargin.rows[0]!.power).toBeGreaterThan(0.05)
  })
})
