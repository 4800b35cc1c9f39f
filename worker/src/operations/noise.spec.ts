import { describe, expect, it } from 'vitest'
import { crash, fakeTrial, manifestOf, ok } from '../../test/fakes.ts'
import { estimateNoise, NOISE_MAX_AGE, NOISE_SEEDS, reusableNoise, sampleSd } from './noise.ts'

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

  it('serves NOISE_MAX_AGE bests on one hardware class, then is measured again', () => {
    let estimate = { noise: 0.02, noiseAge: 0, noiseHardware: 'gpu' }
    for (let age = 1; age < NOISE_MAX_AGE; age++) {
      const next = reusableNoise(estimate, { own: false, hardware: 'gpu' })
      expect(next).toEqual({ noise: 0.02, noiseAge: age, noiseHardware: 'gpu' })
      estimate = next as typeof estimate
    }
    expect(reusableNoise(estimate, { own: false, hardware: 'gpu' })).toBeUndefined()
  })

  it('is kept on our own submission merged, whatever its age', () => {
    expect(reusableNoise({ noise: 0.02, noiseAge: NOISE_MAX_AGE + 3, noiseHardware: 'gpu' }, { own: true, hardware: 'gpu' })).toEqual({ noise: 0.02, noiseAge: NOISE_MAX_AGE + 4, noiseHardware: 'gpu' })
  })

  it('is measured when there is none, it is unknown, or the hardware class changed', () => {
    expect(reusableNoise(undefined, { own: true })).toBeUndefined()
    expect(reusableNoise({ noise: null, noiseAge: 0 }, { own: true })).toBeUndefined()
    expect(reusableNoise({ noise: 0.02, noiseAge: 0, noiseHardware: 'gpu' }, { own: true, hardware: 'other gpu' })).toBeUndefined()
    expect(reusableNoise({ noise: 0.02 }, { own: false, hardware: 'gpu' })).toBeUndefined()
    expect(reusableNoise({ noise: 0.02 }, { own: false })).toEqual({ noise: 0.02, noiseAge: 1, noiseHardware: undefined })
  })
})
