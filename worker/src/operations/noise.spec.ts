import { describe, expect, it } from 'vitest'
import { crash, fakeTrial, manifestOf, ok } from '../../test/fakes.ts'
import { estimateNoise, NOISE_SEEDS, sampleSd } from './noise.ts'

describe('run-to-run noise', () => {
  it('is the sample standard deviation, null below two values', () => {
    expect(sampleSd([])).toBeNull()
    expect(sampleSd([1])).toBeNull()
    expect(sampleSd([1, 1, 1])).toBe(0)
    expect(sampleSd([1, 2, 3])).toBeCloseTo(1)
  })

  it('measures the best on NOISE_SEEDS more seeds after the worker\'s own, skipping runs that fail', async () => {
    const { trial, runs } = fakeTrial((r) => r.seed === 7 ? ok(2) : crash())
    expect(await estimateNoise({ trial, seed: 5 }, manifestOf(), 'best', 1)).toBeCloseTo(Math.SQRT1_2)
    expect(runs.map((r) => [r.commit, r.seed])).toEqual([['best', 7], ['best', 8]])
    expect(runs).toHaveLength(NOISE_SEEDS)
  })

  it('is unknown when every extra run fails', async () => {
    const { trial } = fakeTrial(() => crash())
    expect(await estimateNoise({ trial, seed: 1 }, manifestOf(), 'best', 1)).toBeNull()
  })
})
