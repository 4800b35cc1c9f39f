import { describe, expect, it } from 'vitest'
import { crash, fakeTrial, manifestOf, ok } from '../../test/fakes.ts'
import { BaseRuns, RECENT_COMMITS } from './base-runs.ts'

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

  it('starts a base that is our own submission with the runs of the local best it was squashed from', async () => {
    const { trial, runs } = fakeTrial((r) => ok(r.commit === 'local' ? 0.5 + r.seed : 9))
    const cache = new BaseRuns(trial)
    expect(cache.rebase('base')).toEqual({ own: false })
    await cache.trial({ manifest, commit: 'local', seed: 1 })
    await cache.trial({ manifest, commit: 'base', seed: 2 })
    await cache.trial({ manifest, commit: 'local', seed: 2 })
    cache.sameTree('candidate', 'local')
    expect(cache.rebase('candidate')).toEqual({ own: true })
    expect(await cache.trial({ manifest, commit: 'candidate', seed: 1 })).toEqual(ok(1.5))
    expect(await cache.trial({ manifest, commit: 'candidate', seed: 2 })).toEqual(ok(2.5))
    expect(runs.map((r) => `${r.commit}@${r.seed}`)).toEqual(['local@1', 'base@2', 'local@2'])
    await cache.trial({ manifest, commit: 'candidate', seed: 3 })
    expect(runs.at(-1)).toMatchObject({ commit: 'candidate', seed: 3 })
  })

  it('says what a recent commit (or one with its tree) ran on a seed, without running it', async () => {
    const { trial, runs } = fakeTrial((r) => r.seed === 2 ? crash() : ok(0.5, 'c'.repeat(64)))
    const cache = new BaseRuns(trial)
    cache.rebase('base')
    await cache.trial({ manifest, commit: 'local', seed: 1 })
    await cache.trial({ manifest, commit: 'local', seed: 2 })
    expect(cache.ran('local', 1)).toEqual(ok(0.5, 'c'.repeat(64)))
    // A failed run is not kept, and nothing else ran.
    expect(cache.ran('local', 2)).toBeUndefined()
    expect(cache.ran('other', 1)).toBeUndefined()
    cache.sameTree('squash', 'local')
    expect(cache.ran('squash', 1)).toEqual(ok(0.5, 'c'.repeat(64)))
    expect(runs).toHaveLength(2)
  })

  it('measures a best that is not our submission as it is: a rebase of it, or a submission whose runs are long gone', async () => {
    const { trial, runs } = fakeTrial(() => ok(1))
    const cache = new BaseRuns(trial)
    cache.rebase('base')
    await cache.trial({ manifest, commit: 'local', seed: 1 })
    cache.sameTree('candidate', 'local')
    expect(cache.rebase('rebased-by-coordinator')).toEqual({ own: false })
    for (let i = 0; i < RECENT_COMMITS; i++) await cache.trial({ manifest, commit: `other${i}`, seed: 1 })
    expect(cache.rebase('candidate')).toEqual({ own: false })
    const before = runs.length
    await cache.trial({ manifest, commit: 'candidate', seed: 1 })
    expect(runs).toHaveLength(before + 1)
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
