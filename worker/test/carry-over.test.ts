import { describe, expect, it } from 'vitest'
import { readFileAt, type InfoReply } from '@autoresearch/protocol'
import { ResultsLog } from '../src/results.ts'
import { BaseRuns } from '../src/operations/base-runs.ts'
import { carryOver } from '../src/operations/carry-over.ts'
import { moveToBest } from '../src/operations/follow.ts'
import { fakeTrial, manifestOf, ok, recorder } from './fakes.ts'
import { change, repoWith } from './git-fixture.ts'
import { join } from 'node:path'

const manifest = manifestOf({ editable: ['a.py', 'b.py'] })
const A = 'LR = 0.01\nSTEPS = 10\n'
const B = 'WIDTH = 8\nDEPTH = 2\n'

/** The old best, a local gain on a.py built on it, and a new best that changed b.py. */
async function history (newBestEdits: Record<string, string>): Promise<{ gitdir: string, oldBase: string, local: string, newBest: string }> {
  const { gitdir, root: oldBase } = await repoWith({ 'a.py': A, 'b.py': B, 'evaluate.py': 'print(1)\n' })
  const local = await change(gitdir, oldBase, { 'a.py': A.replace('0.01', '0.1') })
  const newBest = await change(gitdir, oldBase, newBestEdits)
  return { gitdir, oldBase, local, newBest }
}

const results = (gitdir: string): ResultsLog => new ResultsLog(join(gitdir, '..', 'results.tsv'))

describe('carrying local gains onto a new best', () => {
  it('keeps both: the local change to a.py on top of the new best\'s change to b.py, when it still beats the new best', async () => {
    const { gitdir, oldBase, local, newBest } = await history({ 'b.py': B.replace('WIDTH = 8', 'WIDTH = 16') })
    const { trial, runs } = fakeTrial(() => ok(0.5))
    const { emit, events } = recorder()
    const carried = await carryOver({ gitdir, trial, seed: 1, results: results(gitdir), emit }, { manifest, local, oldBase, base: { commit: newBest, metric: 0.8 }, kept: ['lr up', 'more steps'] })
    expect(carried).toBeDefined()
    const commit = carried!.local.commit
    expect(await readFileAt(gitdir, commit, 'a.py')).toBe(A.replace('0.01', '0.1'))
    expect(await readFileAt(gitdir, commit, 'b.py')).toBe(B.replace('WIDTH = 8', 'WIDTH = 16'))
    expect(carried).toEqual({ local: { commit, metric: 0.5 }, keptSinceBase: ['lr up', 'more steps'] })
    expect(runs).toEqual([{ manifest, commit, seed: 1 }])
    expect(events).toEqual([{ type: 'rebased-local', commit, metric: 0.5 }])
    expect(results(gitdir).read()).toEqual([{ commit: commit.slice(0, 7), metric: 0.5, memoryGb: 0.5, status: 'keep', description: 'carried over: lr up; more steps' }])
  })

  it('drops a change that conflicts with the new best, without running anything', async () => {
    const { gitdir, oldBase, local, newBest } = await history({ 'a.py': A.replace('0.01', '0.05') })
    const { trial, runs } = fakeTrial(() => ok(0.1))
    const { emit, events } = recorder()
    expect(await carryOver({ gitdir, trial, seed: 1, results: results(gitdir), emit }, { manifest, local, oldBase, base: { commit: newBest, metric: 0.8 }, kept: ['lr up'] })).toBeUndefined()
    expect(runs).toEqual([])
    expect(events).toEqual([])
  })

  it('drops a change the new best already holds, and one that no longer beats it', async () => {
    const same = await history({ 'a.py': A.replace('0.01', '0.1') })
    const { trial, runs } = fakeTrial(() => ok(0.1))
    expect(await carryOver({ gitdir: same.gitdir, trial, seed: 1, results: results(same.gitdir), emit: () => {} }, { manifest, local: same.local, oldBase: same.oldBase, base: { commit: same.newBest, metric: 0.8 }, kept: ['lr up'] })).toBeUndefined()
    expect(runs).toEqual([])

    const worse = await history({ 'b.py': B.replace('DEPTH = 2', 'DEPTH = 3') })
    const slow = fakeTrial(() => ok(0.9))
    expect(await carryOver({ gitdir: worse.gitdir, trial: slow.trial, seed: 1, results: results(worse.gitdir), emit: () => {} }, { manifest, local: worse.local, oldBase: worse.oldBase, base: { commit: worse.newBest, metric: 0.8 }, kept: ['lr up'] })).toBeUndefined()
    expect(slow.runs).toHaveLength(1)
  })

  it('after a revert to an older best, carries only the local change, not the reverted merge', async () => {
    const { gitdir, root: older } = await repoWith({ 'a.py': A, 'b.py': B })
    const merged = await change(gitdir, older, { 'b.py': B.replace('DEPTH = 2', 'DEPTH = 4') })
    const local = await change(gitdir, merged, { 'a.py': A.replace('0.01', '0.1') })
    const carried = await carryOver({ gitdir, trial: fakeTrial(() => ok(0.5)).trial, seed: 1, results: results(gitdir), emit: () => {} }, { manifest, local, oldBase: merged, base: { commit: older, metric: 0.8 }, kept: ['lr up'] })
    expect(await readFileAt(gitdir, carried!.local.commit, 'a.py')).toBe(A.replace('0.01', '0.1'))
    expect(await readFileAt(gitdir, carried!.local.commit, 'b.py')).toBe(B)
  })
})

describe('moving onto a new best', () => {
  const infoOf = (commit: string): InfoReply => ({ ok: true, causeId: 'c'.repeat(64), coordinatorKey: 'k'.repeat(64), manifest, program: '', best: { commit, metric: 0.8, seq: 2 } })

  it('with a conflicting local change, falls back to the new best as measured here; with a clean one, carries it', async () => {
    for (const [edits, carried] of [[{ 'a.py': A.replace('0.01', '0.05') }, false], [{ 'b.py': B.replace('WIDTH = 8', 'WIDTH = 16') }, true]] as const) {
      const { gitdir, oldBase, local, newBest } = await history(edits)
      const { trial, runs } = fakeTrial((r) => ok(r.commit === newBest ? 0.8 + r.seed / 1000 : 0.5))
      const synced: string[] = []
      const client = { sync: async (_gitdir: string, want: string) => { synced.push(want); return { objects: 0 } } }
      const { emit, events } = recorder()
      const runsCache = new BaseRuns(trial)
      const known = new Set([oldBase])
      const previous = { base: { commit: oldBase, metric: 1 }, local: { commit: local, metric: 0.9 }, keptSinceBase: ['lr up'], noise: null, lastClaim: 0.9 }
      const at = await moveToBest({ client, gitdir, trial: runsCache.trial, seed: 1, results: results(gitdir), emit }, { info: infoOf(newBest), known, previous, runs: runsCache, n: 4 })
      expect(synced).toEqual([newBest])
      expect(known.has(newBest)).toBe(true)
      expect(runs.slice(0, 3).map((r) => [r.commit, r.seed])).toEqual([[newBest, 1], [newBest, 3], [newBest, 4]])
      expect(at.base).toEqual({ commit: newBest, metric: 0.801 })
      expect(at.noise).toBeCloseTo(0.0015275, 6)
      expect(at.lastClaim).toBeUndefined()
      expect(events.filter((e) => e.type === 'phase')).toEqual([{ type: 'phase', phase: 'syncing', n: 4 }, { type: 'phase', phase: 'measuring', n: 4 }])
      expect(events.find((e) => e.type === 'best')).toEqual({ type: 'best', commit: newBest, networkMetric: 0.8, localMetric: 0.801, noise: at.noise })
      if (carried) {
        expect(at.local.metric).toBe(0.5)
        expect(at.keptSinceBase).toEqual(['lr up'])
        expect(events.at(-1)?.type).toBe('rebased-local')
      } else {
        expect(at.local).toEqual(at.base)
        expect(at.keptSinceBase).toEqual([])
        expect(events.at(-1)?.type).toBe('best')
      }
    }
  })
})
