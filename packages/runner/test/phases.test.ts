import * as fs from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import git from 'isomorphic-git'
import { metricSource, runCommit, runTrial, selectBackend, type SandboxBackend, type TrialResult } from '@autoresearch/runner'
import { removeTempDirs, tempDir, TOY_DIR, TOY_FILES, toyManifest, toyTrain, toyVariant } from './helpers.ts'

afterEach(removeTempDirs)

const roots = (): { dataRoot: string, scratchRoot: string } => ({ dataRoot: tempDir('ar-data-'), scratchRoot: tempDir('ar-scratch-') })
const metricOf = (r: TrialResult): number => {
  if (!r.ok) throw new Error(`trial failed (${r.reason}): ${r.message}\n${r.logTail}`)
  return r.metric
}
// Reports a work count too: the toy cause declares train.workBudget, and a result without one is no result.
const FORGED_EVALUATE = 'import json, os\njson.dump({"metric": 1e-9, "trained": 0}, open(os.environ["AUTORESEARCH_RESULT"], "w"))\n'
const FASTER = toyTrain().replace(/^LEARNING_RATE = .*$/m, 'LEARNING_RATE = 0.05')

/** A git work tree holding the toy cause as its first commit, `best`. */
async function toyRepo (): Promise<{ dir: string, best: string, commit: (message: string) => Promise<string> }> {
  const dir = tempDir('ar-repo-')
  await git.init({ fs, dir, defaultBranch: 'main' })
  const author = { name: 'test', email: 'test@example.invalid', timestamp: 1_700_000_000, timezoneOffset: 0 }
  const commit = async (message: string): Promise<string> => await git.commit({ fs, dir, message, author })
  for (const f of TOY_FILES) {
    fs.copyFileSync(join(TOY_DIR, f), join(dir, f))
    await git.add({ fs, dir, filepath: f })
  }
  return { dir, best: await commit('best'), commit }
}

let sandbox: SandboxBackend | undefined
try {
  sandbox = selectBackend({ sandbox: 'bwrap' })
} catch {}

describe('metricSource', () => {
  it('tells an evaluated metric from a self-reported one', () => {
    expect(metricSource(toyManifest())).toBe('evaluator')
    const { evaluate: _e, ...rest } = toyManifest()
    expect(metricSource({ ...rest, metric: { ...rest.metric, stdoutPattern: '^val_mse: (.*)$' } })).toBe('stdout')
  })
})

describe('protected files come from the best\'s revision', () => {
  it('evaluates a candidate with the protected evaluate.py, not its own', async () => {
    const { dataRoot, scratchRoot } = roots()
    const manifest = toyManifest()
    const candidate = toyVariant({ 'train.py': FASTER, 'evaluate.py': FORGED_EVALUATE })
    // Without a protected revision the candidate's own evaluate would run: the forgery works.
    expect(metricOf(await runTrial({ causeDir: candidate, manifest, seed: 2, dataRoot, scratchRoot }))).toBe(1e-9)
    const honest = metricOf(await runTrial({ causeDir: toyVariant({ 'train.py': FASTER }), manifest, seed: 2, dataRoot, scratchRoot }))
    expect(metricOf(await runTrial({ causeDir: candidate, protectedDir: TOY_DIR, manifest, seed: 2, dataRoot, scratchRoot }))).toBe(honest)
  })

  it('gives evaluate only the protected files', async () => {
    const { dataRoot, scratchRoot } = roots()
    const lines: string[] = []
    const evaluate = `import json, os\nprint("FILES:" + ",".join(sorted(os.listdir("."))))\njson.dump({"metric": 1.0, "trained": 0}, open(os.environ["AUTORESEARCH_RESULT"], "w"))\n`
    const r = await runTrial({ causeDir: toyVariant({ 'evaluate.py': evaluate }), manifest: toyManifest(), seed: 1, dataRoot, scratchRoot, onLine: (p, l) => { if (p === 'evaluate') lines.push(l) } })
    expect(metricOf(r)).toBe(1)
    expect(lines).toContain(`FILES:${TOY_FILES.filter((f) => f !== 'train.py').sort().join(',')}`)
  })

  it('runCommit takes the protected files from protectedFrom', async () => {
    const { dataRoot, scratchRoot } = roots()
    const { dir, best, commit } = await toyRepo()
    fs.writeFileSync(join(dir, 'train.py'), FASTER)
    fs.writeFileSync(join(dir, 'evaluate.py'), FORGED_EVALUATE)
    for (const f of ['train.py', 'evaluate.py']) await git.add({ fs, dir, filepath: f })
    const candidate = await commit('candidate')
    const gitdir = join(dir, '.git')
    const manifest = toyManifest()
    const honest = metricOf(await runTrial({ causeDir: toyVariant({ 'train.py': FASTER }), manifest, seed: 4, dataRoot, scratchRoot }))
    expect(metricOf(await runCommit({ gitdir, commit: candidate, protectedFrom: { gitdir, commit: best }, manifest, seed: 4, dataRoot, scratchRoot }))).toBe(honest)
    expect(fs.readdirSync(scratchRoot)).toEqual([])
  })

  it('runCommit gives train the candidate\'s editable files over the best\'s protected ones, and nothing else', async () => {
    const { dataRoot, scratchRoot } = roots()
    const { dir, best, commit } = await toyRepo()
    // The candidate adds a file nobody may add and deletes a protected one: neither reaches the trial.
    fs.writeFileSync(join(dir, 'train.py'), `import os\nprint("FILES:" + ",".join(sorted(os.listdir("."))))\n${toyTrain()}`)
    fs.writeFileSync(join(dir, 'extra.py'), 'print("planted")\n')
    for (const f of ['train.py', 'extra.py']) await git.add({ fs, dir, filepath: f })
    await git.remove({ fs, dir, filepath: 'program.md' })
    const candidate = await commit('candidate')
    const lines: string[] = []
    const r = await runCommit({ gitdir: join(dir, '.git'), commit: candidate, protectedFrom: { gitdir: join(dir, '.git'), commit: best }, manifest: toyManifest(), seed: 1, dataRoot, scratchRoot, onLine: (p, l) => { if (p === 'train') lines.push(l) } })
    metricOf(r)
    expect(TOY_FILES).toContain('program.md')
    expect(lines).toContain(`FILES:${[...TOY_FILES].sort().join(',')}`)
    expect(fs.readdirSync(scratchRoot)).toEqual([])
  })
})

for (const [kind, backend] of [['none', undefined], ['bwrap', sandbox]] as const) {
  describe.skipIf(kind === 'bwrap' && backend === undefined)(`size limits (${kind})`, () => {
    it('fails a train that leaves more in its out dir than the artifact limit', async () => {
      const { dataRoot, scratchRoot } = roots()
      const train = 'import os\nfor i in range(3):\n    open(os.path.join(os.environ["AUTORESEARCH_OUT"], f"blob{i}"), "wb").write(os.urandom(400_000))\n'
      const r = await runTrial({ causeDir: toyVariant({ 'train.py': train }), manifest: toyManifest(), seed: 1, dataRoot, scratchRoot, backend, limits: { artifactBytes: 1_000_000 } })
      expect(!r.ok && r.reason).toBe('artifact-too-large')
    })

    it('stops a step that fills the disk', async () => {
      const { dataRoot, scratchRoot } = roots()
      // Bounded by the script itself (200 MB), so that a broken watch cannot fill the disk either.
      const train = 'import time\nwith open("fill", "wb") as f:\n    for i in range(200):\n        f.write(b"x" * 1_000_000)\n        f.flush()\n        time.sleep(0.05)\n'
      const r = await runTrial({ causeDir: toyVariant({ 'train.py': train }), manifest: toyManifest(), seed: 1, dataRoot, scratchRoot, backend, limits: { diskBytes: 20_000_000, artifactBytes: 500_000_000 } })
      expect(!r.ok && r.reason).toBe('artifact-too-large')
      expect(!r.ok && r.message).toMatch(/disk limit/)
      expect(fs.readdirSync(scratchRoot)).toEqual([])
    })
  })
}
