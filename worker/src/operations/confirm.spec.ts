import { describe, expect, it } from 'vitest'
import { crash, fakeTrial, manifestOf, ok, recorder } from '../../test/fakes.ts'
import { confirm } from './confirm.ts'

const manifest = manifestOf({ minImprovement: 0.1 })
const base = { commit: 'b', metric: 1 }
const local = { commit: 'l', metric: 0.8 }

describe('the confirmation run', () => {
  it('runs base and candidate on the confirmation seed and passes a gain beyond the margin', async () => {
    const { trial, runs } = fakeTrial((r) => ok(r.commit === 'b' ? 1 : 0.85, `${r.commit}`.repeat(64)))
    const { emit, events } = recorder()
    expect(await confirm({ trial, emit }, { manifest, base, local, seed: 5, n: 3 })).toEqual({ passed: true, metric: 0.85, logDigest: 'l'.repeat(64) })
    expect(runs.map((r) => [r.commit, r.seed])).toEqual([['b', 5], ['l', 5]])
    expect(events).toEqual([
      { type: 'phase', phase: 'confirming', n: 3 },
      // Each run is announced as it starts: a real cause's runs take minutes.
      { type: 'measuring', what: 'baseline', commit: 'b', seed: 5, run: 1, runs: 2, n: 3 },
      { type: 'measuring', what: 'candidate', commit: 'l', seed: 5, run: 2, runs: 2, n: 3 },
      { type: 'confirm', commit: 'l', baseline: 1, candidate: 0.85, passed: true }
    ])
  })

  it('fails a gain within the margin and a run that crashes', async () => {
    const small = fakeTrial((r) => ok(r.commit === 'b' ? 1 : 0.95))
    expect(await confirm({ trial: small.trial, emit: () => {} }, { manifest, base, local, seed: 2, n: 1 })).toEqual({ passed: false, metric: 0.95 })
    const broken = fakeTrial((r) => r.commit === 'b' ? ok(1) : crash())
    const { emit, events } = recorder()
    expect(await confirm({ trial: broken.trial, emit }, { manifest, base, local, seed: 2, n: 1 })).toEqual({ passed: false, metric: null })
    expect(events.at(-1)).toEqual({ type: 'confirm', commit: 'l', baseline: 1, candidate: null, passed: false })
  })

  it('ends without a verdict when the worker itself stops a run: nothing is judged on a run Ctrl-C cut short', async () => {
    const controller = new AbortController()
    const { trial } = fakeTrial((r) => {
      if (r.commit === 'l') controller.abort(new DOMException('stopped', 'AbortError'))
      return r.commit === 'b' ? ok(1) : crash('aborted')
    })
    const { emit, events } = recorder()
    await expect(confirm({ trial, emit }, { manifest, base, local, seed: 2, n: 1 }, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' })
    expect(events.some((e) => e.type === 'confirm')).toBe(false)
  })
})
