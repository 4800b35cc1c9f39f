import { describe, expect, it } from 'vitest'
import { readFileAt, type InfoReply } from '@autoresearch/protocol'
import { ResultsLog } from '../src/results.ts'
import { BaseRuns } from '../src/operations/base-runs.ts'
import { carryOver } from '../src/operations/carry-over.ts'
import { moveToBest } from '../src/operations/follow.ts'
import { crash, fakeTrial, manifestOf, ok, recorder } from './fakes.ts'
import type { TrialRun } from '../src/components.ts'
import { NOISE_MAX_AGE } from '../src/operations/noise.ts'
import { change, repoWith } from './git-fixture.ts'
import { squash } from '../src/operations/submission.ts'
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
    const carried = await carryOver({ gitdir, trial, results: results(gitdir), emit }, { manifest, seed: 1, local, oldBase, base: { commit: newBest, metric: 0.8 }, kept: ['lr up', 'more steps'] })
    expect(carried).toBeDefined()
    const commit = carried!.local.commit
    expect(await readFileAt(gitdir, commit, 'a.py')).toBe(A.replace('0.01', '0.1'))
    expect(await readFileAt(gitdir, commit, 'b.py')).toBe(B.replace('WIDTH = 8', 'WIDTH = 16'))
    expect(carried).toEqual({ local: { commit, metric: 0.5 }, keptSinceBase: ['lr up', 'more steps'] })
    expect(runs).toEqual([{ manifest, commit, seed: 1 }])
    expect(events).toEqual([{ type: 'measuring', what: 'carried', commit, seed: 1, run: 1, runs: 1, n: 0 }, { type: 'rebased-local', commit, metric: 0.5 }])
    expect(results(gitdir).read()).toEqual([{ commit: commit.slice(0, 7), metric: 0.5, memoryGb: 0.5, status: 'keep', description: 'carried over: lr up; more steps' }])
  })

  it('stops without a verdict when the worker itself stops the measuring run: the chain is not dropped for a run cut short', async () => {
    const { gitdir, oldBase, local, newBest } = await history({ 'b.py': B.replace('WIDTH = 8', 'WIDTH = 16') })
    const controller = new AbortController()
    const { trial } = fakeTrial(() => { controller.abort(new DOMException('stopped', 'AbortError')); return crash('aborted') })
    await expect(carryOver({ gitdir, trial, results: results(gitdir), emit: () => {} }, { manifest, seed: 1, local, oldBase, base: { commit: newBest, metric: 0.8 }, kept: ['lr up'] }, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' })
    expect(results(gitdir).read()).toEqual([])
  })

  it('drops a change that conflicts with the new best, without running anything', async () => {
    const { gitdir, oldBase, local, newBest } = await history({ 'a.py': A.replace('0.01', '0.05') })
    const { trial, runs } = fakeTrial(() => ok(0.1))
    const { emit, events } = recorder()
    expect(await carryOver({ gitdir, trial, results: results(gitdir), emit }, { manifest, seed: 1, local, oldBase, base: { commit: newBest, metric: 0.8 }, kept: ['lr up'] })).toBeUndefined()
    expect(runs).toEqual([])
    expect(events).toEqual([])
  })

  it('drops a change the new best already holds, and one that no longer beats it', async () => {
    const same = await history({ 'a.py': A.replace('0.01', '0.1') })
    const { trial, runs } = fakeTrial(() => ok(0.1))
    expect(await carryOver({ gitdir: same.gitdir, trial, results: results(same.gitdir), emit: () => {} }, { manifest, seed: 1, local: same.local, oldBase: same.oldBase, base: { commit: same.newBest, metric: 0.8 }, kept: ['lr up'] })).toBeUndefined()
    expect(runs).toEqual([])

    const worse = await history({ 'b.py': B.replace('DEPTH = 2', 'DEPTH = 3') })
    const slow = fakeTrial(() => ok(0.9))
    expect(await carryOver({ gitdir: worse.gitdir, trial: slow.trial, results: results(worse.gitdir), emit: () => {} }, { manifest, seed: 1, local: worse.local, oldBase: worse.oldBase, base: { commit: worse.newBest, metric: 0.8 }, kept: ['lr up'] })).toBeUndefined()
    expect(slow.runs).toHaveLength(1)
  })

  it('describes only what remains of the chain: a kept edit the new best already holds drops out', async () => {
    const { gitdir, root: oldBase } = await repoWith({ 'a.py': A, 'b.py': B })
    const first = await change(gitdir, oldBase, { 'a.py': A.replace('0.01', '0.1') })
    const second = await change(gitdir, first, { 'a.py': A.replace('0.01', '0.1').replace('STEPS = 10', 'STEPS = 20') })
    // Another worker's best holds the first edit, and a change of its own to b.py.
    const newBest = await change(gitdir, oldBase, { 'a.py': A.replace('0.01', '0.1'), 'b.py': B.replace('DEPTH = 2', 'DEPTH = 3') })
    const { trial, runs } = fakeTrial(() => ok(0.5))
    const carried = await carryOver({ gitdir, trial, results: results(gitdir), emit: () => {} }, { manifest, seed: 1, local: second, oldBase, base: { commit: newBest, metric: 0.8 }, kept: ['lr up', 'more steps'] })
    expect(carried?.keptSinceBase).toEqual(['more steps'])
    expect(runs).toHaveLength(1)
    expect(await readFileAt(gitdir, carried!.local.commit, 'a.py')).toBe(A.replace('0.01', '0.1').replace('STEPS = 10', 'STEPS = 20'))
    expect(await readFileAt(gitdir, carried!.local.commit, 'b.py')).toBe(B.replace('DEPTH = 2', 'DEPTH = 3'))
    expect(results(gitdir).read().at(-1)?.description).toBe('carried over: more steps')
    // Every edit in the new best already: nothing is carried.
    const all = await change(gitdir, newBest, { 'a.py': A.replace('0.01', '0.1').replace('STEPS = 10', 'STEPS = 20') })
    expect(await carryOver({ gitdir, trial, results: results(gitdir), emit: () => {} }, { manifest, seed: 1, local: second, oldBase, base: { commit: all, metric: 0.8 }, kept: ['lr up', 'more steps'] })).toBeUndefined()
  })

  it('after a revert to an older best, carries only the local change, not the reverted merge', async () => {
    const { gitdir, root: older } = await repoWith({ 'a.py': A, 'b.py': B })
    const merged = await change(gitdir, older, { 'b.py': B.replace('DEPTH = 2', 'DEPTH = 4') })
    const local = await change(gitdir, merged, { 'a.py': A.replace('0.01', '0.1') })
    const carried = await carryOver({ gitdir, trial: fakeTrial(() => ok(0.5)).trial, results: results(gitdir), emit: () => {} }, { manifest, seed: 1, local, oldBase: merged, base: { commit: older, metric: 0.8 }, kept: ['lr up'] })
    expect(await readFileAt(gitdir, carried!.local.commit, 'a.py')).toBe(A.replace('0.01', '0.1'))
    expect(await readFileAt(gitdir, carried!.local.commit, 'b.py')).toBe(B)
  })
})

describe('moving onto a new best', () => {
  const infoOf = (commit: string): InfoReply => ({ ok: true, causeId: 'c'.repeat(64), coordinatorKey: 'k'.repeat(64), manifest, program: '', best: { commit, metric: 0.8, seq: 2 } })

  it('with a conflicting local change, falls back to the new best as measured here (one run: its noise is due); with a clean one, carries it', async () => {
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
      // The best on the worker's seed; its noise waits for a gain that needs it (operations/noise.ts).
      expect(runs.map((r) => [r.commit, r.seed])).toEqual(carried ? [[newBest, 1], [runs[1]?.commit, 1]] : [[newBest, 1]])
      expect(at.base).toEqual({ commit: newBest, metric: 0.801 })
      expect(at).toMatchObject({ noise: null, noiseDue: true })
      expect(at.lastClaim).toBeUndefined()
      expect(events.filter((e) => e.type === 'phase')).toEqual([{ type: 'phase', phase: 'syncing', n: 4 }, { type: 'phase', phase: 'measuring', n: 4 }])
      // "measuring the best: seed 1/1" as the run starts.
      expect(events.filter((e) => e.type === 'measuring' && e.what === 'best')).toEqual([{ type: 'measuring', what: 'best', commit: newBest, seed: 1, run: 1, runs: 1, n: 4 }])
      expect(events.find((e) => e.type === 'best')).toEqual({ type: 'best', commit: newBest, networkMetric: 0.8, localMetric: 0.801, noise: null, noiseDue: true, verifiedRuns: 0 })
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

  /** A local gain run on the worker's seed (the experiment) and the next (the confirmation), then squashed and submitted as the loop does. */
  async function submittedOwn (metricOf: (commit: string, seed: number, local: string) => number): Promise<{ gitdir: string, oldBase: string, local: string, candidate: string, runsCache: BaseRuns, runs: TrialRun[] }> {
    const { gitdir, oldBase, local } = await history({})
    const { trial, runs } = fakeTrial((r) => ok(metricOf(r.commit, r.seed, local)))
    const runsCache = new BaseRuns(trial)
    runsCache.rebase(oldBase)
    await runsCache.trial({ manifest, commit: local, seed: 1 })
    await runsCache.trial({ manifest, commit: oldBase, seed: 2 })
    await runsCache.trial({ manifest, commit: local, seed: 2 })
    const { commit: candidate } = await squash({ gitdir }, local, oldBase, ['lr up'])
    runsCache.sameTree(candidate, local)
    return { gitdir, oldBase, local, candidate, runsCache, runs }
  }

  it('our own submission merged as it is: no run measures it, and the noise estimate is kept', async () => {
    const { gitdir, oldBase, local, candidate, runsCache, runs } = await submittedOwn((commit, seed, local) => commit === local ? 0.5 + seed / 100 : 0.8)
    const before = runs.length
    const client = { sync: async () => ({ objects: 0 }) }
    const { emit, events } = recorder()
    const previous = { base: { commit: oldBase, metric: 0.8 }, local: { commit: local, metric: 0.51 }, keptSinceBase: ['lr up'], noise: 0.02, noiseAge: NOISE_MAX_AGE, lastClaim: 0.51 }
    const at = await moveToBest({ client, gitdir, trial: runsCache.trial, seed: 1, results: results(gitdir), emit }, { info: infoOf(candidate), known: new Set([oldBase, candidate]), previous, runs: runsCache, n: 7 })
    expect(runs.slice(before)).toEqual([])
    expect(at).toEqual({ base: { commit: candidate, metric: 0.51 }, seeds: { experiment: 1, confirm: 2 }, local: { commit: candidate, metric: 0.51 }, keptSinceBase: [], noise: 0.02, noiseAge: NOISE_MAX_AGE + 1 })
    expect(events.find((e) => e.type === 'best')).toEqual({ type: 'best', commit: candidate, networkMetric: 0.8, localMetric: 0.51, noise: 0.02, verifiedRuns: 0 })
    // Its confirmation run is the next confirmation's baseline: a cache hit too.
    expect(await runsCache.trial({ manifest, commit: candidate, seed: 2 })).toEqual(ok(0.52))
    expect(runs.slice(before)).toEqual([])
  })

  it('another worker\'s best: measured on the worker\'s seed while the earlier noise estimate serves; on another hardware class its noise is due again', async () => {
    const { gitdir, oldBase, newBest } = await history({ 'b.py': B.replace('WIDTH = 8', 'WIDTH = 16') })
    const { trial, runs } = fakeTrial(() => ok(0.7))
    const runsCache = new BaseRuns(trial)
    const client = { sync: async () => ({ objects: 0 }) }
    const previous = { base: { commit: oldBase, metric: 0.8 }, local: { commit: oldBase, metric: 0.8 }, keptSinceBase: [], noise: 0.02, noiseAge: 0 }
    const at = await moveToBest({ client, gitdir, trial: runsCache.trial, seed: 1, results: results(gitdir), emit: () => {} }, { info: infoOf(newBest), known: new Set([oldBase, newBest]), previous, runs: runsCache, n: 2 })
    expect(runs.map((r) => [r.commit, r.seed])).toEqual([[newBest, 1]])
    expect(at).toMatchObject({ base: { commit: newBest, metric: 0.7 }, noise: 0.02, noiseAge: 1 })
    const stale = await moveToBest({ client, gitdir, trial: runsCache.trial, seed: 1, results: results(gitdir), emit: () => {}, hardware: { class: 'gpu', cpus: 1, gpus: [] } }, { info: infoOf(oldBase), known: new Set([oldBase, newBest]), previous: at, runs: runsCache, n: 3 })
    expect(runs.slice(1).map((r) => [r.commit, r.seed])).toEqual([[oldBase, 1]])
    expect(stale).toMatchObject({ noise: null, noiseDue: true })
  })

  it('another worker\'s best that verifiers of this hardware class measured: no run of it here, their seeds and spread', async () => {
    const { gitdir, oldBase, local, newBest } = await history({ 'b.py': B.replace('WIDTH = 8', 'WIDTH = 16') })
    const { trial, runs } = fakeTrial((r) => ok(r.commit === newBest ? 9 : 0.5))
    const runsCache = new BaseRuns(trial)
    const client = { sync: async () => ({ objects: 0 }) }
    const { emit, events } = recorder()
    const bestRuns = [{ seed: 70, metric: 0.7, hardware: 'gpu' }, { seed: 71, metric: 0.72, hardware: 'gpu' }, { seed: 72, metric: 0.74, hardware: 'gpu' }, { seed: 73, metric: 5, hardware: 'cpu' }]
    const previous = { base: { commit: oldBase, metric: 0.8 }, local: { commit: local, metric: 0.6 }, keptSinceBase: ['lr up'], noise: null }
    const at = await moveToBest({ client, gitdir, trial: runsCache.trial, seed: 1, results: results(gitdir), emit, hardware: { class: 'gpu', cpus: 1, gpus: [] } }, { info: { ...infoOf(newBest), bestRuns }, known: new Set([oldBase, newBest]), previous, runs: runsCache, n: 5 })
    // Only the carried local best ran, on the verified experiment seed; the best never did.
    expect(runs.map((r) => r.seed)).toEqual([70])
    expect(runs.every((r) => r.commit !== newBest)).toBe(true)
    expect(at).toMatchObject({ base: { commit: newBest, metric: 0.7 }, seeds: { experiment: 70, confirm: 71 }, local: { metric: 0.5 }, noiseAge: 0, noiseHardware: 'gpu' })
    expect(at.noise).toBeCloseTo(0.02, 9)
    expect(events.find((e) => e.type === 'best')).toMatchObject({ localMetric: 0.7, verifiedRuns: 3 })
    // Nothing ran for the best here: no progress is announced for it.
    expect(events.filter((e) => e.type === 'measuring' && e.what === 'best')).toEqual([])
    // The confirmation's baseline is the verifiers' run on the second seed.
    expect(await runsCache.trial({ manifest, commit: newBest, seed: 71 })).toMatchObject({ ok: true, metric: 0.72 })
    expect(runs).toHaveLength(1)
    // On other hardware the same best is measured here, on the worker's own seeds.
    const other = new BaseRuns(fakeTrial(() => ok(0.9)).trial)
    const elsewhere = await moveToBest({ client, gitdir, trial: other.trial, seed: 1, results: results(gitdir), emit: () => {}, hardware: { class: 'tpu', cpus: 1, gpus: [] } }, { info: { ...infoOf(newBest), bestRuns }, known: new Set([oldBase, newBest]), runs: other, n: 5 })
    expect(elsewhere).toMatchObject({ base: { metric: 0.9 }, seeds: { experiment: 1, confirm: 2 } })
  })

  it('our own submission merged while the local best went further: the local best is carried without a run', async () => {
    let further = ''
    const { gitdir, oldBase, local, candidate, runsCache, runs } = await submittedOwn((commit, _seed, local) => commit === local ? 0.5 : commit === further ? 0.4 : 0.8)
    further = await change(gitdir, local, { 'b.py': B.replace('WIDTH = 8', 'WIDTH = 16') })
    await runsCache.trial({ manifest, commit: further, seed: 1 })
    const before = runs.length
    const client = { sync: async () => ({ objects: 0 }) }
    const previous = { base: { commit: oldBase, metric: 0.8 }, local: { commit: further, metric: 0.4 }, keptSinceBase: ['lr up', 'wider'], noise: 0.02, noiseAge: 1, lastClaim: 0.5 }
    const at = await moveToBest({ client, gitdir, trial: runsCache.trial, seed: 1, results: results(gitdir), emit: () => {} }, { info: infoOf(candidate), known: new Set([oldBase, candidate]), previous, runs: runsCache, n: 9 })
    expect(runs.slice(before)).toEqual([])
    expect(at.base).toEqual({ commit: candidate, metric: 0.5 })
    expect(at.local.metric).toBe(0.4)
    expect(await readFileAt(gitdir, at.local.commit, 'b.py')).toBe(B.replace('WIDTH = 8', 'WIDTH = 16'))
    // 'lr up' is in the new best already: the carried chain is described by what remains of it.
    expect(at.keptSinceBase).toEqual(['wider'])
    expect(results(gitdir).read().at(-1)?.description).toBe('carried over: wider')
  })
})
