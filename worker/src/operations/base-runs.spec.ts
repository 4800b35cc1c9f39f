import { describe, expect, it } from 'vitest'
import { crash, fakeTrial, manifestOf, ok } from '../../test/fakes.ts'
import { BaseRuns } from './base-runs.ts'

const manifest = manifestOf()

describe('the cache of the base\'s runs', () => {
  it('measures the base once per seed, never other commits, and forgets them when the base moves', async () => {
    const { trial, runs } = fakeTrial((r) => ok(r.seed))
    const cache = new BaseRuns(trial)
    cache.rebase('base')
    expect(await cache.trial({ manifest, commit: 'base', seed: 1 })).toEqual(ok(1))
    await cache.trial({ manifest, commit: 'base', seed: 1 })
    await cache.trial({ manifest, commit: 'base', seed: 2 })
    await cache.trial({ manifest, commit: 'other', seed: 1 })
    await cache.trial({ manifest, commit: 'other', seed: 1 })
    expect(runs.map((r) => `${r.commit}@${r.seed}`)).toEqual(['base@1', 'base@2', 'other@1', 'other@1'])
    cache.rebase('next')
    expect(cache.base).toBe('next')
    await cache.trial({ manifest, commit: 'base', seed: 1 })
    expect(runs).toHaveLength(5)
  })

  it('does not keep a failed run of the base', async () => {
    let fail = true
    const { trial, runs } = fakeTrial(() => fail ? crash() : ok(3))
    const cache = new BaseRuns(trial)
    cache.rebase('base')
    expect((await cache.trial({ manifest, commit: 'base', seed: 1 })).ok).toBe(false)
    fail = false
    expect(await cache.trial({ manifest, commit: 'base', seed: 1 })).toEqual(ok(3))
    expect(runs).toHaveLength(2)
  })
})
