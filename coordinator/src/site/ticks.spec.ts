import { describe, expect, it } from 'vitest'
import { niceScale, niceStep, tickLabel } from './ticks.ts'

/** Whether `step` is 1, 2 or 5 times a power of ten. */
const isNice = (step: number): boolean => {
  const norm = step / 10 ** Math.floor(Math.log10(step) + 1e-9)
  return [1, 2, 5, 10].some((n) => Math.abs(norm - n) < 1e-9)
}

describe('nice ticks', () => {
  it('picks 1, 2 or 5 × 10^k steps', () => {
    expect(niceStep(0.23)).toBe(0.5)
    expect(niceStep(0.15)).toBeCloseTo(0.2, 12)
    expect(niceStep(7)).toBe(10)
    expect(niceStep(1)).toBe(1)
    expect(niceStep(3e-5)).toBeCloseTo(5e-5, 18)
  })

  it('covers the data with round ends and round ticks, written as round labels', () => {
    // What a minimised loss between 0.9134 and 1.0371 looked like before: 0.9035, 0.9348, ...
    const s = niceScale(0.9134, 1.0371)
    expect(s.ticks).toEqual([0.9, 0.95, 1, 1.05])
    expect(s.min).toBe(0.9)
    expect(s.max).toBe(1.05)
    expect(s.ticks.map((t) => tickLabel(t, s))).toEqual(['0.90', '0.95', '1.00', '1.05'])
  })

  it('keeps labels distinct for a narrow span far from zero', () => {
    const s = niceScale(0.99981, 0.99987)
    expect(s.min).toBeLessThanOrEqual(0.99981)
    expect(s.max).toBeGreaterThanOrEqual(0.99987)
    const labels = s.ticks.map((t) => tickLabel(t, s))
    expect(new Set(labels).size).toBe(labels.length)
    expect(labels).toEqual(['0.99980', '0.99982', '0.99984', '0.99986', '0.99988'])
  })

  it('holds for spans of every size, negative values and a flat series', () => {
    for (const [lo, hi] of [[0, 1], [-3.2, 7.9], [1e6, 1.7e6], [1e-9, 3e-9], [-0.02, -0.01], [42, 42], [0, 0], [123.456, 123.4561]] as Array<[number, number]>) {
      const s = niceScale(lo, hi)
      expect(isNice(s.step), `step ${s.step} for [${lo}, ${hi}]`).toBe(true)
      expect(s.min).toBeLessThanOrEqual(lo)
      expect(s.max).toBeGreaterThanOrEqual(hi)
      expect(s.max).toBeGreaterThan(s.min)
      expect(s.ticks.length).toBeGreaterThanOrEqual(2)
      expect(s.ticks.length).toBeLessThanOrEqual(7)
      const labels = s.ticks.map((t) => tickLabel(t, s))
      expect(new Set(labels).size, labels.join(' ')).toBe(labels.length)
      s.ticks.forEach((t, i) => { if (i > 0) expect(t - (s.ticks[i - 1] as number)).toBeCloseTo(s.step, 12) })
    }
  })
})
