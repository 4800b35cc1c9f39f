import { describe, expect, it } from 'vitest'
import { parseManifest } from '@autoresearch/protocol'
import { crash, fakeTrial, manifestOf, ok, recorder } from '../../test/fakes.ts'
import { estimateNoise, measureNoise, NOISE_MAX_AGE, NOISE_SEEDS, noiseNeeded, reusableNoise, sampleSd } from './noise.ts'
import { BEYOND_DOUBT } from './submission.ts'

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

describe('noise measured when a gain needs it', () => {
  const declaring = (noise?: number) => parseManifest({
    name: 't', editable: ['train.py'], train: { command: ['python3', 'train.py'] }, evaluate: { command: ['python3', 'evaluate.py'] },
    metric: { name: 'loss', direction: 'minimize' }, verification: { minImprovement: 0.05, ...(noise === undefined ? {} : { sequential: { noise } }) }
  })
  const due = { noiseDue: true }

  it('only while it is due, and only for a gain: none is discarded whatever the noise', () => {
    expect(noiseNeeded(declaring(), due, 1, 0.99)).toBe(true)
    expect(noiseNeeded(declaring(), due, 1, 1)).toBe(false)
    expect(noiseNeeded(declaring(), due, 1, 1.2)).toBe(false)
    expect(noiseNeeded(declaring(), { noiseDue: false }, 1, 0.99)).toBe(false)
    expect(noiseNeeded(declaring(), {}, 1, 0.99)).toBe(false)
  })

  it('not for a gain beyond doubt at the spread the cause declares (what a confirmation is skipped for)', () => {
    const bound = 0.05 + BEYOND_DOUBT * 0.01
    expect(noiseNeeded(declaring(0.01), due, 1, 1 - bound - 1e-6)).toBe(false)
    expect(noiseNeeded(declaring(0.01), due, 1, 1 - bound + 1e-6)).toBe(true)
    // With no declared spread nothing is beyond doubt: every gain needs the noise.
    expect(noiseNeeded(declaring(), due, 1, 0.1)).toBe(true)
  })

  it('runs the best on NOISE_SEEDS more seeds, says so run by run, and leaves it fresh on this hardware', async () => {
    const { trial, runs } = fakeTrial((r) => ok(r.seed === 7 ? 1.1 : 0.9))
    const { emit, events } = recorder()
    const estimate = await measureNoise({ trial, seed: 5, emit, hardware: { class: 'gpu', cpus: 1, gpus: [] } }, { manifest: manifestOf(), base: { commit: 'best', metric: 1 }, n: 4 })
    expect(runs.map((r) => [r.commit, r.seed])).toEqual([['best', 7], ['best', 8]])
    expect(estimate).toEqual({ noise: sampleSd([1, 1.1, 0.9]), noiseAge: 0, noiseDue: false, noiseHardware: 'gpu' })
    expect(events).toEqual([
      { type: 'measuring', what: 'noise', commit: 'best', seed: 7, run: 1, runs: NOISE_SEEDS, n: 4 },
      { type: 'measuring', what: 'noise', commit: 'best', seed: 8, run: 2, runs: NOISE_SEEDS, n: 4 },
      { type: 'noise', commit: 'best', noise: estimate.noise }
    ])
  })
})
