import { describe, expect, it } from 'vitest'
import { crash, manifestOf, ok } from '../../test/fakes.ts'
import { judge } from './experiment.ts'

const local = { commit: 'l', metric: 1 }

describe('keep or discard', () => {
  it('keeps a lower loss, discards an equal or higher one, logs a crash with no metric and its reason', () => {
    const m = manifestOf()
    expect(judge(m, local, 'c', 'lower', ok(0.9))).toEqual({ commit: 'c', metric: 0.9, memoryGb: 0.5, status: 'keep', description: 'lower' })
    expect(judge(m, local, 'c', 'same', ok(1)).status).toBe('discard')
    expect(judge(m, local, 'c', 'higher', ok(1.1)).status).toBe('discard')
    expect(judge(m, local, 'c', 'broke it', crash())).toEqual({ commit: 'c', metric: null, memoryGb: 0, status: 'crash', description: 'broke it (crash: boom: Traceback)' })
  })

  it('follows the metric\'s direction', () => {
    expect(judge(manifestOf({ direction: 'maximize' }), local, 'c', 'higher', ok(1.1)).status).toBe('keep')
    expect(judge(manifestOf({ direction: 'maximize' }), local, 'c', 'lower', ok(0.9)).status).toBe('discard')
  })

  it('keeps only a gain beyond the worker\'s own noise, once it has an estimate', () => {
    const m = manifestOf()
    expect(judge(m, local, 'c', 'a little lower', ok(0.97), 0.05).status).toBe('discard')
    expect(judge(m, local, 'c', 'much lower', ok(0.9), 0.05).status).toBe('keep')
    expect(judge(m, local, 'c', 'a little lower', ok(0.97), null).status).toBe('keep')
  })
})
