import * as fs from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import git from 'isomorphic-git'
import { runCommit, runTrial, type TrialResult } from '@autoresearch/runner'
import { processAlive, removeTempDirs, tempDir, TOY_DIR, TOY_FILES, toyManifest, toyTrain, toyVariant } from './helpers.ts'

afterEach(removeTempDirs)

function roots (): { dataRoot: string, scratchRoot: string } {
  return { dataRoot: tempDir('ar-data-'), scratchRoot: tempDir('ar-scratch-') }
}

function metricOf (r: TrialResult): number {
  if (!r.ok) throw new Error(`trial failed (${r.reason}): ${r.message}\n${r.logTail}`)
  return r.metric
}

describe('runTrial on the toy cause', () => {
  it('yields a finite metric and leaves no scratch behind', async () => {
    const { dataRoot, scratchRoot } = roots()
    const r = await runTrial({ causeDir: TOY_DIR, manifest: toyManifest(), seed: 1, dataRoot, scratchRoot })
    const metric = metricOf(r)
    expect(Number.isFinite(metric)).toBe(true)
    expect(metric).toBeGreaterThan(0.01)
    expect(metric).toBeLessThan(0.5)
    expect(r.ok && r.memoryGb).toBeGreaterThan(0)
    expect(r.logDigest).toMatch(/^[0-9a-f]{64}$/)
    expect(r.logTail).toContain('trained 5000 steps')
    expect(fs.readdirSync(scratchRoot)).toEqual([])
  })

  it('gives the same metric for the same seed and a small spread across seeds', async () => {
    const { dataRoot, scratchRoot } = roots()
    const run = async (seed: number): Promise<TrialResult> => await runTrial({ causeDir: TOY_DIR, manifest: toyManifest(), seed, dataRoot, scratchRoot })
    const a = await run(7)
    const b = await run(7)
    const c = await run(8)
    expect(metricOf(b)).toBe(metricOf(a))
    expect(a.logDigest).toBe(b.logDigest)
    expect(metricOf(c)).not.toBe(metricOf(a))
    expect(Math.abs(metricOf(c) - metricOf(a))).toBeLessThan(0.05)
  })

  it('prepares once per revision of the protected files', async () => {
    const { dataRoot, scratchRoot } = roots()
    const prepared: string[] = []
    const onLine = (phase: string, line: string): void => { if (phase === 'prepare') prepared.push(line) }
    const manifest = toyManifest()
    metricOf(await runTrial({ causeDir: TOY_DIR, manifest, seed: 1, dataRoot, scratchRoot, onLine }))
    expect(prepared).toHaveLength(1)
    expect(prepared[0]).toMatch(/^prepared 400 train/)

    // A candidate that changes only the editable file reuses the data.
    const candidate = toyVariant({ 'train.py': toyTrain().replace(/^LEARNING_RATE = .*$/m, 'LEARNING_RATE = 0.1') })
    metricOf(await runTrial({ causeDir: candidate, manifest, seed: 1, dataRoot, scratchRoot, onLine }))
    expect(prepared).toHaveLength(1)

    // A change to a protected file is another revision with its own data.
    const protectedChange = toyVariant({ 'program.md': '# changed\n' })
    metricOf(await runTrial({ causeDir: protectedChange, manifest, seed: 1, dataRoot, scratchRoot, onLine }))
    expect(prepared).toHaveLength(2)
    // Each revision's data, and its held-out split beside them (prepare.heldOut).
    expect(fs.readdirSync(dataRoot).filter((e) => !e.endsWith('.heldout'))).toEqual([expect.stringMatching(/^toy-regression-[0-9a-f]{64}$/), expect.stringMatching(/^toy-regression-[0-9a-f]{64}$/)])
    expect(fs.readdirSync(dataRoot).filter((e) => e.endsWith('.heldout'))).toHaveLength(2)
  })

  it('shares one prepare between concurrent trials', async () => {
    const { dataRoot, scratchRoot } = roots()
    let prepares = 0
    const onLine = (phase: string): void => { if (phase === 'prepare') prepares++ }
    const results = await Promise.all([1, 2].map(async (seed) => await runTrial({ causeDir: TOY_DIR, manifest: toyManifest(), seed, dataRoot, scratchRoot, onLine })))
    for (const r of results) metricOf(r)
    expect(prepares).toBe(1)
    expect(fs.readdirSync(dataRoot).filter((e) => !e.endsWith('.heldout'))).toHaveLength(1)
  })
})

describe('runTrial on broken or hostile causes', () => {
  it('kills the whole process tree of a train step that runs past its timeout', async () => {
    const { dataRoot, scratchRoot } = roots()
    const pidFile = join(tempDir(), 'pids')
    const train = `
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, '-c', 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(1000)'])
with open(${JSON.stringify(pidFile)}, 'w') as f:
    f.write(f"{os.getpid()} {child.pid}")
print('sleeping', flush=True)
time.sleep(1000)
`
    const manifest = toyManifest()
    manifest.train.timeoutSeconds = 1
    const r = await runTrial({ causeDir: toyVariant({ 'train.py': train }), manifest, seed: 1, dataRoot, scratchRoot })
    expect(r.ok).toBe(false)
    expect(!r.ok && r.reason).toBe('timeout')
    expect(r.logTail).toContain('sleeping')
    const pids = fs.readFileSync(pidFile, 'utf8').split(' ').map(Number)
    expect(pids).toHaveLength(2)
    for (const pid of pids) expect(processAlive(pid)).toBe(false)
  })

  it('reports a crash with the end of the log', async () => {
    const { dataRoot, scratchRoot } = roots()
    const train = 'import sys\nprint("about to fail")\nsys.exit("boom: the model exploded")\n'
    const r = await runTrial({ causeDir: toyVariant({ 'train.py': train }), manifest: toyManifest(), seed: 1, dataRoot, scratchRoot })
    expect(!r.ok && r.reason).toBe('crash')
    expect(!r.ok && r.message).toContain('exited with code 1')
    expect(r.logTail).toContain('boom: the model exploded')
  })

  it('reports no-result when evaluate writes no result', async () => {
    const { dataRoot, scratchRoot } = roots()
    const r = await runTrial({ causeDir: toyVariant({ 'evaluate.py': 'print("val_mse: 0.001")\n' }), manifest: toyManifest(), seed: 1, dataRoot, scratchRoot })
    expect(!r.ok && r.reason).toBe('no-result')
  })

  it('reports no-result for a metric that is not a finite number', async () => {
    const { dataRoot, scratchRoot } = roots()
    const evaluate = 'import os\nopen(os.environ["AUTORESEARCH_RESULT"], "w").write(\'{"metric": "0.001"}\')\n'
    const r = await runTrial({ causeDir: toyVariant({ 'evaluate.py': evaluate }), manifest: toyManifest(), seed: 1, dataRoot, scratchRoot })
    expect(!r.ok && r.reason).toBe('no-result')
  })

  it('ignores what train prints and what it does to its own copy of evaluate.py', async () => {
    const { dataRoot, scratchRoot } = roots()
    const manifest = toyManifest()
    const honest = metricOf(await runTrial({ causeDir: TOY_DIR, manifest, seed: 3, dataRoot, scratchRoot }))
    const cheat = toyTrain() + `
print("val_mse: 0.000001")
print('{"metric": 0.000001}')
with open("evaluate.py", "w") as f:
    f.write("import json, os\\njson.dump({'metric': 1e-6}, open(os.environ['AUTORESEARCH_RESULT'], 'w'))\\n")
`
    const r = await runTrial({ causeDir: toyVariant({ 'train.py': cheat }), manifest, seed: 3, dataRoot, scratchRoot })
    expect(metricOf(r)).toBe(honest)
  })

  it('reports prepare-failed', async () => {
    const { dataRoot, scratchRoot } = roots()
    const r = await runTrial({ causeDir: toyVariant({ 'prepare.py': 'raise SystemExit("no data today")\n' }), manifest: toyManifest(), seed: 1, dataRoot, scratchRoot })
    expect(!r.ok && r.reason).toBe('prepare-failed')
    expect(r.logTail).toContain('no data today')
    expect(fs.readdirSync(dataRoot)).toEqual([])
  })

  it('stops a trial when its signal aborts', async () => {
    const { dataRoot, scratchRoot } = roots()
    const controller = new AbortController()
    const train = 'import time\nprint("started", flush=True)\ntime.sleep(1000)\n'
    const onLine = (phase: string, line: string): void => { if (phase === 'train' && line === 'started') controller.abort() }
    const r = await runTrial({ causeDir: toyVariant({ 'train.py': train }), manifest: toyManifest(), seed: 1, dataRoot, scratchRoot, signal: controller.signal, onLine })
    expect(!r.ok && r.reason).toBe('aborted')
    expect(r.durationMs).toBeLessThan(30_000)
  })

  it('reads the metric from stdout for a cause without an evaluate step', async () => {
    const { dataRoot, scratchRoot } = roots()
    const { evaluate: _evaluate, ...rest } = toyManifest()
    const manifest = { ...rest, metric: { ...rest.metric, stdoutPattern: '^val_mse: ([0-9.eE+-]+)$' } }
    const train = 'print("val_mse: 9.0")\nprint("val_mse: 0.25")\nprint("done")\n'
    const r = await runTrial({ causeDir: toyVariant({ 'train.py': train }), manifest, seed: 1, dataRoot, scratchRoot })
    expect(metricOf(r)).toBe(0.25)
  })

  it('refuses a cause holding a symlink', async () => {
    const { dataRoot, scratchRoot } = roots()
    const cause = toyVariant()
    fs.symlinkSync('/etc/passwd', join(cause, 'passwd'))
    const r = await runTrial({ causeDir: cause, manifest: toyManifest(), seed: 1, dataRoot, scratchRoot })
    expect(!r.ok && r.reason).toBe('invalid-cause')
  })
})

describe('runCommit', () => {
  it('runs a commit of a real git repository like the directory it came from', async () => {
    const { dataRoot, scratchRoot } = roots()
    const dir = tempDir('ar-repo-')
    await git.init({ fs, dir, defaultBranch: 'main' })
    for (const f of TOY_FILES) {
      fs.copyFileSync(join(TOY_DIR, f), join(dir, f))
      await git.add({ fs, dir, filepath: f })
    }
    const commit = await git.commit({ fs, dir, message: 'toy', author: { name: 'test', email: 'test@example.invalid', timestamp: 1_700_000_000, timezoneOffset: 0 } })
    const manifest = toyManifest()
    const fromCommit = await runCommit({ gitdir: join(dir, '.git'), commit, manifest, seed: 5, dataRoot, scratchRoot })
    const fromDir = await runTrial({ causeDir: TOY_DIR, manifest, seed: 5, dataRoot, scratchRoot })
    expect(metricOf(fromCommit)).toBe(metricOf(fromDir))
    // Same protected files, so one prepared data set serves both.
    expect(fs.readdirSync(dataRoot).filter((e) => !e.endsWith('.heldout'))).toHaveLength(1)
    expect(fs.readdirSync(scratchRoot)).toEqual([])
  })
})
