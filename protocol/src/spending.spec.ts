import { describe, expect, it } from 'vitest'
import { parseManifest } from './manifest.ts'
import { FIRST_ROUND_SHARE, roundConfidence } from './spending.ts'

const base = { name: 't', editable: ['train.py'], train: { command: ['python3', 'train.py'] }, evaluate: { command: ['python3', 'evaluate.py'] }, metric: { name: 'loss', direction: 'minimize' } }
const manifest = (verification: Record<string, unknown>): ReturnType<typeof parseManifest> => parseManifest({ ...base, verification: { minImprovement: 0.05, ...verification } })

describe('roundConfidence', () => {
  it('gives the first round half the rate and the further rounds a share each of the other half', () => {
    const m = manifest({})
    expect(FIRST_ROUND_SHARE).toBe(0.5)
    expect(roundConfidence(m, 1, 3)).toBe(0.975)
    expect(roundConfidence(m, 2, 3)).toBe(0.9875)
    expect(roundConfidence(m, 3, 3)).toBe(0.9875)
    // A candidate that can get no further round keeps the whole rate.
    expect(roundConfidence(m, 1, 1)).toBe(0.95)
  })

  it('spends what early acceptance leaves', () => {
    const m = manifest({ sequential: { noise: 0.014, accept: 0.02 } })
    expect(roundConfidence(m, 1, 3)).toBe(0.985)
    expect(roundConfidence(m, 2, 3)).toBe(0.9925)
    expect(roundConfidence(m, 1, 1)).toBe(0.97)
  })

  it('never spends more than 1 − confidence over all rounds, whatever the rounds and the cause declare', () => {
    for (const confidence of [0.9, 0.95, 0.99]) {
      for (const accept of [undefined, (1 - confidence) / 4, (1 - confidence) / 2]) {
        const m = manifest({ confidence, ...(accept === undefined ? {} : { sequential: { noise: 0.01, accept } }) })
        for (const maxRounds of [1, 2, 3, 5, 8]) {
          let spent = accept ?? 0
          for (let round = 1; round <= maxRounds; round++) {
            const c = roundConfidence(m, round, maxRounds)
            expect(c).toBeGreaterThanOrEqual(confidence)
            expect(c).toBeLessThan(1)
            spent += 1 - c
          }
          expect(spent).toBeCloseTo(1 - confidence, 10)
        }
      }
    }
  })
})
