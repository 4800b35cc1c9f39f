import * as fs from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { containerArgs, noneBackend, runTrial, selectBackend, type SandboxBackend, type StepSpec, type TrialResult } from '@autoresearch/runner'
import { removeTempDirs, tempDir, toyManifest, toyTrain, toyVariant } from './helpers.ts'

/**
 * The toy cause's held-out split (`prepare.heldOut`) and work budget (`train.workBudget`):
 * prepare writes the split beside the data, only evaluate sees it, and train's meter
 * (frozen model.py) and evaluate's count hold train to the budget. Each runs on bubblewrap
 * and on the none backend; the container backend's command lines are checked from the
 * specs the runner gives it.
 */

afterAll(removeTempDirs)

let bwrap: SandboxBackend | undefined
try {
  bwrap = selectBackend({ sandbox: 'bwrap' })
} catch {}

/** A train.py that reads the validation split where it used to be, in the data directory. */
const readsHeldOut = `import json, os
val = json.load(open(os.path.join(os.environ["AUTORESEARCH_DATA"], "val.json")))
${toyTrain()}`
/** Twice the gradients per step: the meter stops it halfway. */
const twiceTheWork = toyTrain().replace('        grads = gradients(', '        gradients(w1, b1, w2, b2[0], [train[i] for i in batch])\n        grads = gradients(')
/** Goes past the budget, swallows the meter's stop and saves anyway: evaluate's count is over. */
const swallowed = `import os
from model import BudgetExceeded, gradients, save_artifact, training_budget
try:
    gradients([0.0], [0.0], [0.0], 0.0, [(0.0, 0.0)] * (training_budget() + 1))
except BudgetExceeded as err:
    print(f"carrying on after: {err}", flush=True)
save_artifact(os.environ["AUTORESEARCH_OUT"], [0.0], [0.0], [0.0], 0.0)
`

for (const kind of ['bwrap', 'none'] as const) {
  describe.skipIf(kind === 'bwrap' && bwrap === undefined)(`the toy cause on the ${kind} backend`, () => {
    const backend = (): SandboxBackend => kind === 'bwrap' ? bwrap as SandboxBackend : selectBackend({ sandbox: 'none', warn: () => {} })
    const trial = async (train: string | undefined, dataRoot = tempDir('ar-data-'), lines: string[] = []): Promise<TrialResult> =>
      await runTrial({ causeDir: train === undefined ? toyVariant() : toyVariant({ 'train.py': train }), manifest: toyManifest(), seed: 1, dataRoot, scratchRoot: tempDir('ar-scratch-'), backend: backend(), onLine: (_p, l) => lines.push(l) })

    it('keeps the held-out split beside the cached data, read-only, and scores the honest train on it with its count of work', async () => {
      const dataRoot = tempDir('ar-data-')
      const r = await trial(undefined, dataRoot)
      expect(r.ok, r.ok ? '' : r.logTail).toBe(true)
      if (!r.ok) return
      expect(r.result).toMatchObject({ n_val: 200, trained: toyManifest().train.workBudget?.amount })
      const entries = fs.readdirSync(dataRoot).filter((e) => !e.startsWith('.')).sort()
      expect(entries).toEqual([expect.stringMatching(/^toy-regression-[0-9a-f]{64}$/), expect.stringMatching(/^toy-regression-[0-9a-f]{64}\.heldout$/)])
      const [data, heldOut] = entries.map((e) => join(dataRoot, e)) as [string, string]
      expect(entries[1]).toBe(`${entries[0]}.heldout`)
      expect(fs.readdirSync(data).sort()).toEqual(['meta.json', 'train.json'])
      expect(fs.readdirSync(heldOut)).toEqual(['val.json'])
      expect(fs.statSync(join(heldOut, 'val.json')).mode & 0o222).toBe(0)
      // A second trial uses the cache: prepare does not run again, and evaluate still finds the split.
      const lines: string[] = []
      const again = await trial(undefined, dataRoot, lines)
      expect(again.ok && again.metric).toBe(r.metric)
      expect(lines.some((l) => l.startsWith('prepared '))).toBe(false)
    })

    it('neither names nor shows the held-out split to train, and a train reaching for it fails as held-out-access', async () => {
      const lines: string[] = []
      const looks = `import os
print("ENV", sorted(k for k in os.environ if k.startswith("AUTORESEARCH_")), flush=True)
print("BESIDE", sorted(os.listdir(os.path.dirname(os.environ["AUTORESEARCH_DATA"]))) if ${kind === 'bwrap' ? 'True' : 'False'} else [], flush=True)
${toyTrain()}`
      const seen = await trial(looks, undefined, lines)
      expect(seen.ok, seen.ok ? '' : seen.logTail).toBe(true)
      expect(lines).toContain("ENV ['AUTORESEARCH_DATA', 'AUTORESEARCH_OUT', 'AUTORESEARCH_SEED', 'AUTORESEARCH_WORK_BUDGET', 'AUTORESEARCH_WORK_UNIT']")
      // In the sandbox, beside the data are only train's own mounts.
      const beside = lines.find((l) => l.startsWith('BESIDE ')) ?? ''
      expect(beside).not.toMatch(/heldout/)

      const r = await trial(readsHeldOut)
      expect(r.ok).toBe(false)
      if (r.ok) return
      expect(r.reason, r.logTail).toBe('held-out-access')
      expect(r.message).toMatch(/train failed reaching for held-out data \(val\.json\), which only evaluate sees \(prepare\.heldOut\)/)
    })

    it('stops a train that does twice the work at the budget, and refuses one that swallows the stop, both as over-work-budget', async () => {
      const stopped = await trial(twiceTheWork)
      expect(!stopped.ok && stopped.reason, stopped.logTail).toBe('over-work-budget')
      expect(!stopped.ok && stopped.message).toMatch(/stopped by the cause's frozen meter past its work budget of 160000 examples/)
      expect(stopped.logTail).toMatch(/BudgetExceeded: training budget exceeded: gradients on 160032 examples, the budget is 160000/)

      const refused = await trial(swallowed)
      expect(!refused.ok && refused.reason, refused.logTail).toBe('over-work-budget')
      expect(!refused.ok && refused.message).toMatch(/train used 160001 examples, over the work budget of 160000 examples \(train\.workBudget\)/)
      expect(refused.logTail).toMatch(/carrying on after: training budget exceeded/)
    })
  })
}

describe('the container backend\'s mounts per step', () => {
  it('mounts the held-out split writable for prepare, read-only for evaluate, and not at all for train', async () => {
    const specs: Array<{ phase: string, spec: StepSpec }> = []
    const none = noneBackend()
    // The runner's own step specs, run for real by the none backend, turned into docker command lines.
    const recording: SandboxBackend = { name: 'recording', entersDisk: false, run: async (spec) => { specs.push({ phase: spec.command.at(-1) ?? '', spec }); return await none.run(spec) } }
    const dataRoot = tempDir('ar-data-')
    const r = await runTrial({ causeDir: toyVariant(), manifest: toyManifest(), seed: 1, dataRoot, scratchRoot: tempDir('ar-scratch-'), backend: recording })
    expect(r.ok, r.ok ? '' : r.logTail).toBe(true)
    const args = (phase: string): string => {
      const found = specs.find((s) => s.phase === phase)
      expect(found, phase).toBeDefined()
      return containerArgs(found!.spec, { engine: 'docker', program: 'docker', image: 'img', name: 'n', user: '1:1' }).join(' ')
    }
    const heldOut = fs.readdirSync(dataRoot).find((e) => e.endsWith('.heldout')) as string
    expect(args('prepare.py')).toMatch(/--mount type=bind,source=\S+\/heldout,target=\/autoresearch\/heldout --mount/)
    expect(args('prepare.py')).toMatch(/--env AUTORESEARCH_HELDOUT=\/autoresearch\/heldout /)
    expect(args('evaluate.py')).toContain(`--mount type=bind,source=${join(dataRoot, heldOut)},target=/autoresearch/${heldOut},readonly`)
    expect(args('evaluate.py')).toContain(`--env AUTORESEARCH_HELDOUT=/autoresearch/${heldOut} `)
    expect(args('train.py')).not.toMatch(/heldout|HELDOUT/)
  })
})
