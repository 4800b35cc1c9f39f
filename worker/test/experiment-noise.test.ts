import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { ResultsLog } from '../src/results.ts'
import { experiment } from '../src/operations/experiment.ts'
import { crash, fakeTrial, manifestOf, ok, recorder } from './fakes.ts'
import { change, repoWith } from './git-fixture.ts'
import type { NoiseFor } from '../src/operations/noise.ts'

const manifest = manifestOf({ editable: ['a.py'] })
const A = 'LR = 0.01\n'

/** An experiment on a fresh repository whose run scores `metric`, judged with the σ `noiseFor` gives. */
async function run (metric: number, noiseFor: NoiseFor, signal?: AbortSignal): Promise<{ row: Awaited<ReturnType<typeof experiment>>, asked: Array<[number, number]>, results: ResultsLog }> {
  const { gitdir, root } = await repoWith({ 'a.py': A, 'evaluate.py': 'print(1)\n' })
  const { trial } = fakeTrial(() => ok(metric))
  const results = new ResultsLog(join(gitdir, '..', 'results.tsv'))
  const asked: Array<[number, number]> = []
  const commit = await change(gitdir, root, { 'a.py': 'LR = 0.1\n' }, 'lr up')
  const row = await experiment({ trial, results, emit: recorder().emit }, {
    manifest, local: { commit: root, metric: 1 }, commit, seed: 1, n: 1,
    proposal: { edits: { 'a.py': 'LR = 0.1\n' }, description: 'lr up' },
    noiseFor: async (from, to) => { asked.push([from, to]); return await noiseFor(from, to) }
  }, { signal })
  return { row, asked, results }
}

describe('an experiment whose noise is measured when its gain needs it', () => {
  it('is judged by the σ measured for it: a gain within it is discarded, one beyond it kept', async () => {
    const within = await run(0.97, async () => 0.05)
    expect(within.asked).toEqual([[1, 0.97]])
    expect(within.row).toMatchObject({ metric: 0.97, status: 'discard' })
    const beyond = await run(0.9, async () => 0.05)
    expect(beyond.row).toMatchObject({ metric: 0.9, status: 'keep' })
  })

  it('stopped while the noise is measured: not judged, not logged (the loop runs it again)', async () => {
    const controller = new AbortController()
    const stopped = await run(0.97, async () => { controller.abort(); throw new DOMException('stopped', 'AbortError') }, controller.signal)
    expect(stopped.row).toBeUndefined()
    expect(stopped.results.read()).toEqual([])
  })

  it('a crash asks for no σ', async () => {
    const { gitdir, root } = await repoWith({ 'a.py': A, 'evaluate.py': 'print(1)\n' })
    let asked = 0
    const commit = await change(gitdir, root, { 'a.py': 'LR = 0.1\n' }, 'lr up')
    const row = await experiment({ trial: fakeTrial(() => crash()).trial, results: new ResultsLog(join(gitdir, '..', 'results.tsv')), emit: () => {} }, {
      manifest, local: { commit: root, metric: 1 }, commit, seed: 1, n: 1, proposal: { edits: { 'a.py': 'LR = 0.1\n' }, description: 'lr up' }, noiseFor: async () => { asked++; return null }
    })
    expect(row).toMatchObject({ status: 'crash' })
    expect(asked).toBe(0)
  })
})
