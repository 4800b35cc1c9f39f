import { describe, expect, it } from 'vitest'
import { Quiet, quietNotice } from './quiet.ts'

describe('Quiet', () => {
  it('is due once per quiet spell, after its time without activity', () => {
    const quiet = new Quiet(0, 30_000)
    expect(quiet.due(29_999)).toBe(false)
    expect(quiet.due(30_000)).toBe(true)
    expect(quiet.due(90_000)).toBe(false)
    quiet.active(100_000)
    expect(quiet.for(110_000)).toBe(10_000)
    expect(quiet.due(110_000)).toBe(false)
    expect(quiet.due(130_000)).toBe(true)
  })
})

describe('quietNotice', () => {
  it('says how long, after how many merges and at which metric, and that the network is not stuck', () => {
    const notice = quietNotice(31_400, { merges: 3, metric: 'val_mse', best: 0.02335274754131511 }, 'search')
    expect(notice).toMatch(/^no experiment, submission or verification for 31 s after 3 merge\(s\) \(val_mse 0.02335\)/)
    expect(notice).toContain('not stuck')
    expect(notice).toContain('noise floor')
    const other = quietNotice(30_000, { merges: 0, metric: 'val_loss', best: null }, 'openai')
    expect(other).toContain('after 0 merge(s): the workers\' openai agents propose nothing that runs')
    expect(other).not.toContain('noise floor')
  })
})
