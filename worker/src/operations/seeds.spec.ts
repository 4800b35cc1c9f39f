import { describe, expect, it } from 'vitest'
import { planSeeds } from './seeds.ts'

const run = (seed: number, metric: number, hardware = 'gpu'): { seed: number, metric: number, hardware: string } => ({ seed, metric, hardware })

describe('the seeds a best is followed on', () => {
  it('are the worker\'s own without verified runs on its hardware class', () => {
    expect(planSeeds(5, undefined, 'gpu')).toEqual({ seeds: { experiment: 5, confirm: 6 }, verified: [], noise: null })
    expect(planSeeds(5, [run(9, 1, 'cpu')], 'gpu').seeds).toEqual({ experiment: 5, confirm: 6 })
    expect(planSeeds(5, [run(9, 1)], undefined).verified).toEqual([])
  })

  it('are the verified seeds on the same class, with their spread once three seeds are known', () => {
    expect(planSeeds(5, [run(9, 1), run(9, 1.1), run(8, 1.2)], 'gpu')).toMatchObject({ seeds: { experiment: 9, confirm: 8 }, noise: null })
    const plan = planSeeds(5, [run(9, 1), run(8, 1.2), run(7, 1.4)], 'gpu')
    expect(plan.seeds).toEqual({ experiment: 9, confirm: 8 })
    expect(plan.noise).toBeCloseTo(0.2, 9)
  })

  it('confirm on a seed of the worker\'s own, never the experiment\'s, when one seed is verified', () => {
    expect(planSeeds(5, [run(9, 1)], 'gpu').seeds).toEqual({ experiment: 9, confirm: 6 })
    expect(planSeeds(5, [run(6, 1)], 'gpu').seeds).toEqual({ experiment: 6, confirm: 7 })
  })
})
