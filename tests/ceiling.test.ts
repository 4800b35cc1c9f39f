import { describe, expect, it } from 'vitest'
import { bowl, ceiling, landscape, race } from '../bench/ceiling.ts'
import { FAR_START } from '../bench/scaling.ts'

describe('the search\'s own ceiling (`npm run bench -- ceiling`)', () => {
  const far = landscape({ start: FAR_START })

  it('scores the cause\'s copy on its own bowl: the scaling bench\'s far start is loss 19.7, the optimum 0', () => {
    expect(bowl(far.optimum, far.train)).toBeCloseTo(19.7, 1)
    expect(Object.keys(far.optimum).sort()).toEqual(['learning_rate', 'weight_decay', 'width_scale'])
    const atOptimum = far.train.replace(/^LEARNING_RATE = .*$/m, 'LEARNING_RATE = 0.04').replace(/^WEIGHT_DECAY = .*$/m, 'WEIGHT_DECAY = 0.025').replace(/^WIDTH_SCALE = .*$/m, 'WIDTH_SCALE = 2.0')
    expect(bowl(far.optimum, atOptimum)).toBe(0)
    // With knobs the bowl has their optima too, read from the copy's evaluate.py.
    expect(Object.keys(landscape({ knobs: 2 }).optimum)).toContain('knob_2')
  })

  it('a race of the same searchers and seed is the same race; one searcher merges the same either way', async () => {
    const opts = { searchers: 1, seed: 3, target: 0.3, maxRounds: 400 }
    const one = await race(far, { ...opts, merging: 'one' })
    expect(one.rounds).toBeLessThan(400)
    // From loss 19.7 a lone searcher needs at least 8 merges (the scaling bench's floor).
    expect(one.merges).toBeGreaterThanOrEqual(8)
    expect(await race(far, { ...opts, merging: 'one' })).toEqual(one)
    expect(await race(far, { ...opts, merging: 'combined' })).toEqual(one)
  })

  it('more searchers need fewer rounds, and merging every constant\'s find at once fewer still', async () => {
    const rows = await ceiling(far, { searchers: [1, 8], races: 10, target: 0.3, maxRounds: 400 })
    const at = (merging: string, n: number) => rows.find((r) => r.merging === merging && r.searchers === n)
    expect(rows.every((r) => r.reached === 10)).toBe(true)
    expect(at('one', 8)?.rounds).toBeLessThan(at('one', 1)?.rounds as number)
    expect(at('combined', 8)?.rounds).toBeLessThan(at('one', 8)?.rounds as number)
    expect(at('one', 1)).toMatchObject({ speedup: 1, efficiency: 1 })
  })

  it('with constants the score ignores (--inert), finds are rarer per experiment, and a lone searcher takes more rounds to the same target', async () => {
    const sparse = landscape({ start: FAR_START, inert: 9 })
    expect(bowl(sparse.optimum, sparse.train)).toBe(bowl(far.optimum, far.train))
    const opts = { searchers: [1], races: 5, target: 0.3, maxRounds: 3000 }
    const [rich] = await ceiling(far, opts)
    const [rare] = await ceiling(sparse, opts)
    expect(rare?.reached).toBe(5)
    expect(rare?.findRate).toBeLessThan((rich?.findRate as number) / 2)
    expect(rare?.rounds).toBeGreaterThan((rich?.rounds as number) * 2)
  })
})
