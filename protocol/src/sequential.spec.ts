import { describe, expect, it } from 'vitest'
import { parseManifest } from './manifest.ts'
import { normalDraw, normalQuantile, prng, studentTCdf } from './distributions.ts'
import { acceptEarly, endsEarly, stopEarly } from './sequential.ts'
import { roundConfidence } from './spending.ts'

const base = { name: 't', editable: ['train.py'], train: { command: ['python3', 'train.py'] }, evaluate: { command: ['python3', 'evaluate.py'] }, metric: { name: 'loss', direction: 'minimize' } }
const withRule = parseManifest({ ...base, verification: { minImprovement: 0.05, sequential: { noise: 0.014 } } })
const without = parseManifest({ ...base, verification: { minImprovement: 0.05 } })
/** A pair whose candidate beats the baseline by `gain` (loss goes down). */
const pair = (gain: number): { baseline: number, candidate: number } => ({ baseline: 1, candidate: 1 - gain })

/** A seeded standard normal sampler: the spec is reproducible. */
const normals = (seed: number): () => number => {
  const uniform = prng(seed)
  return () => normalDraw(uniform)
}

describe('normalQuantile', () => {
  it('gives the textbook values', () => {
    expect(normalQuantile(0.5)).toBeCloseTo(0, 9)
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5)
    expect(normalQuantile(0.99)).toBeCloseTo(2.326348, 5)
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232, 5)
  })

  it('refuses what is not a probability', () => {
    expect(() => normalQuantile(1)).toThrow(RangeError)
    expect(() => normalQuantile(0)).toThrow(RangeError)
  })
})

describe('stopEarly', () => {
  it('rejects a clear loser after its first pair', () => {
    expect(stopEarly(withRule, [pair(-0.1)], 3)).toMatch(/^after 1 of 3 pairs the mean gain -0.100 .* misses it$/)
  })

  it('goes on while a true gain of minImprovement stays plausible', () => {
    expect(stopEarly(withRule, [pair(0.03)], 3)).toBeNull()
    expect(stopEarly(withRule, [pair(0.07), pair(-0.01)], 3)).toBeNull()
  })

  it('tightens its bound as pairs accumulate', () => {
    // 0.02 is within 2.33 × 0.014 of 0.05 after one pair, not after two.
    expect(stopEarly(withRule, [pair(0.02)], 3)).toBeNull()
    expect(stopEarly(withRule, [pair(0.02), pair(0.02)], 3)).not.toBeNull()
  })

  it('never decides on no pairs or on a complete round', () => {
    expect(stopEarly(withRule, [], 3)).toBeNull()
    expect(stopEarly(withRule, [pair(-1), pair(-1), pair(-1)], 3)).toBeNull()
  })

  it('stops on a failed pair with or without the rule: any failure rejects', () => {
    const failed = [{ baseline: 1, candidate: null }]
    expect(stopEarly(without, failed, 3)).toMatch(/1 of the first 1 pairs produced no metric/)
    expect(stopEarly(withRule, [pair(0.2), { baseline: null, candidate: 0.5 }], 3)).not.toBeNull()
  })

  it('without `verification.sequential` runs every pair of a loser', () => {
    expect(stopEarly(without, [pair(-1)], 3)).toBeNull()
  })

  it('reads the metric direction', () => {
    const maximize = parseManifest({ ...base, metric: { name: 'acc', direction: 'maximize' }, verification: { minImprovement: 0.05, sequential: { noise: 0.014 } } })
    expect(stopEarly(maximize, [{ baseline: 0.5, candidate: 0.4 }], 3)).not.toBeNull()
    expect(stopEarly(maximize, [{ baseline: 0.5, candidate: 0.6 }], 3)).toBeNull()
  })

  it('stops a candidate whose true gain is exactly minImprovement about `futility` of the time per look', () => {
    const normal = normals(1)
    const runs = 20_000
    let stoppedFirst = 0
    let stoppedAny = 0
    for (let i = 0; i < runs; i++) {
      const pairs = [0, 1].map(() => pair(0.05 + 0.014 * normal()))
      const first = stopEarly(withRule, pairs.slice(0, 1), 3) !== null
      if (first) stoppedFirst++
      if (first || stopEarly(withRule, pairs, 3) !== null) stoppedAny++
    }
    // 1 % per look: binomial sd over 20,000 runs is 0.07 %.
    expect(stoppedFirst / runs).toBeGreaterThan(0.007)
    expect(stoppedFirst / runs).toBeLessThan(0.013)
    // Two looks cost a true gain of minImprovement at most 2 % of its acceptances.
    expect(stoppedAny / runs).toBeLessThan(0.02)
  })

  it('stops a loser with no gain at all after its first pair most of the time', () => {
    const normal = normals(2)
    let stopped = 0
    for (let i = 0; i < 2000; i++) if (stopEarly(withRule, [pair(0.014 * normal())], 3) !== null) stopped++
    // P(N(0, 0.014) < 0.05 − 2.326 × 0.014) = Φ(1.245) ≈ 0.89.
    expect(stopped / 2000).toBeGreaterThan(0.86)
    expect(stopped / 2000).toBeLessThan(0.92)
  })
})

describe('acceptEarly', () => {
  const accepting = parseManifest({ ...base, verification: { minImprovement: 0.05, sequential: { noise: 0.014, accept: 0.02 } } })
  /** A pair whose baseline varies with the seed as training does, and whose candidate varies as much. */
  const seeded = (gain: number, i: number): { baseline: number, candidate: number } => ({ baseline: 1 + 0.01 * i, candidate: 1 + 0.01 * i - gain + 0.003 * (i % 2) })

  it('accepts a gain beyond doubt after two of three pairs, saying why', () => {
    expect(acceptEarly(accepting, [seeded(0.5, 0), seeded(0.5, 1)], 3)).toMatch(/^after 2 of 3 pairs the mean gain 0\.49\d clears minImprovement 0\.05 beyond doubt \(t=.*p=.* < 0\.0200\)$/)
    // With the look's figures, which the coordinator's verdict shows as its test.
    expect(endsEarly(accepting, [seeded(0.5, 0), seeded(0.5, 1)], 3, { accept: true })).toMatchObject({ verdict: 'accepted', look: { k: 2, planned: 3, sd: 0.014, level: 0.02 } })
  })

  it('never where the job may not, the cause did not declare it, on one pair, on a whole round, or after a failed pair', () => {
    const two = [seeded(0.5, 0), seeded(0.5, 1)]
    expect(endsEarly(accepting, two, 3, { accept: false })).toBeNull()
    expect(acceptEarly(withRule, two, 3)).toBeNull()
    expect(acceptEarly(accepting, two.slice(0, 1), 3)).toBeNull()
    expect(acceptEarly(accepting, [...two, seeded(0.5, 2)], 3)).toBeNull()
    expect(acceptEarly(accepting, [...two, { baseline: 1, candidate: null }], 4)).toBeNull()
  })

  it('needs more than a gain of about 11 pair noises after two pairs (one degree of freedom), and less after more pairs', () => {
    // t(1) at 1 − 0.02: 15.9, over √2: 11.2 noises of 0.014 beyond 0.05 is 0.207.
    expect(acceptEarly(accepting, [seeded(0.2, 0), seeded(0.2, 1)], 3)).toBeNull()
    expect(acceptEarly(accepting, [seeded(0.22, 0), seeded(0.22, 1)], 3)).not.toBeNull()
    // With five trials the 0.02 is shared by three looks, and at four pairs (3 dof) 0.1 is plenty.
    expect(acceptEarly(accepting, [0, 1, 2, 3].map((i) => seeded(0.1, i)), 5)).not.toBeNull()
  })

  it('takes the pairs\' own spread when it is larger than the declared noise', () => {
    expect(acceptEarly(accepting, [seeded(0.9, 0), seeded(0.1, 1)], 3)).toBeNull()
  })

  it('leaves a candidate that does not vary with the seed to its whole round', () => {
    const fixed = [0, 1].map((i) => ({ baseline: 1 + 0.01 * i, candidate: 0.5 }))
    expect(acceptEarly(accepting, fixed, 3)).toBeNull()
    const off = parseManifest({ ...base, verification: { minImprovement: 0.05, seedInsensitivity: { varianceRatio: 0 }, sequential: { noise: 0.014, accept: 0.02 } } })
    expect(acceptEarly(off, fixed, 3)).not.toBeNull()
  })

  it('keeps the declared false-acceptance rate: a gain of exactly minImprovement passes early at most `accept` and in all at most 1 − confidence, even when made noisy', () => {
    const normal = normals(3)
    const runs = 20_000
    // A candidate's only round (later rounds take their own share: spending.spec.ts).
    const level = 1 - roundConfidence(accepting, 1, 1)
    for (const sd of [0.014, 0.14]) {
      let early = 0
      let passed = 0
      for (let i = 0; i < runs; i++) {
        const pairs = [0, 1, 2].map((s) => ({ baseline: 1 + 0.01 * normal(), candidate: 0, seed: s })).map((p) => ({ ...p, candidate: p.baseline - 0.05 - sd * normal() }))
        if (acceptEarly(accepting, pairs.slice(0, 2), 3) !== null) {
          early++
          passed++
          continue
        }
        // The whole round's test, as the coordinator's (stats.ts pairedOneSidedTest) at that level.
        const gains = pairs.map((p) => p.baseline - p.candidate)
        const mean = gains.reduce((a, b) => a + b, 0) / 3
        const s = Math.sqrt(gains.reduce((a, g) => a + (g - mean) ** 2, 0) / 2)
        if (1 - studentTCdf((mean - 0.05) / (s / Math.sqrt(3)), 2) < level) passed++
      }
      // Binomial sd over 20,000 runs: 0.1 % at 2 %, 0.15 % at 5 %.
      expect(early / runs).toBeLessThan(0.02 + 0.003)
      expect(passed / runs).toBeLessThan(0.05 + 0.004)
    }
  })

  it('is refused by the manifest where it would spend more than half the rate, or has no look to spend it on', () => {
    expect(() => parseManifest({ ...base, verification: { minImprovement: 0.05, sequential: { noise: 0.014, accept: 0.03 } } })).toThrow(/at most half of the false-acceptance rate/)
    expect(() => parseManifest({ ...base, verification: { minImprovement: 0.05, trials: 2, sequential: { noise: 0.014, accept: 0.01 } } })).toThrow(/needs trials of at least 3/)
    expect(roundConfidence(accepting, 1, 1)).toBeCloseTo(0.97, 12)
    expect(roundConfidence(withRule, 1, 1)).toBe(0.95)
  })
})
