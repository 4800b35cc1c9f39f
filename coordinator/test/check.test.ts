import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { MANIFEST_FILE, metricSource, parseManifestText } from '@autoresearch/protocol'
import { CauseCheckError, checkCause, inspectCause, suggestVerification, tQuantile, type CheckReport } from '../src/check.ts'
import { initHome, serveCoordinator } from '../src/index.ts'
import { EXAMPLES_DIR, templateDir } from '../src/templates.ts'

const ROOT = resolve(import.meta.dirname, '..', '..')
const TOY = join(EXAMPLES_DIR, 'toy-regression')
const EDITABLE_DIR = join(ROOT, 'tests', 'fixtures', 'editable-dir')
const BIN = join(ROOT, 'coordinator', 'bin', 'autoresearch-coordinator.js')
const cli = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 })

/** A copy of the toy cause with its manifest changed by `edit` (and files removed). */
function brokenToy (edit: (m: Record<string, unknown>) => Record<string, unknown>, remove: string[] = []): string {
  const dir = fs.mkdtempSync(join(tmpdir(), 'ar-check-'))
  fs.cpSync(TOY, dir, { recursive: true })
  const path = join(dir, 'autoresearch.json')
  fs.writeFileSync(path, JSON.stringify(edit(JSON.parse(fs.readFileSync(path, 'utf8')))))
  for (const f of remove) fs.rmSync(join(dir, f))
  return dir
}

const problemsOf = (dir: string): string => {
  try {
    inspectCause(dir)
  } catch (err) {
    expect(err).toBeInstanceOf(CauseCheckError)
    return (err as Error).message
  }
  throw new Error('no problem found')
}

describe('check: what is wrong with a cause, before anything runs', () => {
  it('accepts both example causes as they are', () => {
    expect(inspectCause(TOY).name).toBe('toy-regression')
    expect(inspectCause(templateDir('tiny-gpt')).name).toBe('tiny-gpt')
  })

  it('names unknown fields, a missing editable file, an editable evaluator, a missing script and a stdout pattern without a group', () => {
    expect(problemsOf(brokenToy((m) => ({ ...m, budget: 5 })))).toMatch(/\(root\): Unrecognized key: "budget"/)
    expect(problemsOf(brokenToy((m) => ({ ...m, train: { ...(m.train as object), timeout: 5 } })))).toMatch(/train: Unrecognized key: "timeout"/)
    expect(problemsOf(brokenToy((m) => m, ['train.py']))).toMatch(/editable "train.py" is not in/)
    expect(problemsOf(brokenToy((m) => ({ ...m, editable: ['train.py', 'evaluate.py'] }))))
      .toMatch(/"evaluate.py" is listed as editable, but the evaluate step runs "evaluate.py": evaluate code must be protected/)
    expect(problemsOf(brokenToy((m) => m, ['evaluate.py']))).toMatch(/the evaluate step runs "evaluate.py", which is not in/)
    expect(problemsOf(brokenToy((m) => m, ['program.md']))).toMatch(/program "program.md" .* is not in/)
    expect(problemsOf(brokenToy((m) => ({ ...m, editable: ['autoresearch.json'] })))).toMatch(/autoresearch.json is always protected/)
    const noGroup = brokenToy(({ evaluate: _e, ...m }) => ({ ...m, metric: { name: 'val_mse', direction: 'minimize', stdoutPattern: 'val_mse: [0-9.]+' } }))
    expect(problemsOf(noGroup)).toMatch(/metric.stdoutPattern: needs a capturing group/)
    // Several problems at once are all listed.
    expect(problemsOf(brokenToy((m) => m, ['train.py', 'program.md']))).toMatch(/3 problems:\n  - program .*\n  - editable .*\n  - the train step runs/)
  })

  it('catches a frozen step that imports an editable file, before anything runs: the file, the line and the import', () => {
    const importsTrain = brokenToy((m) => m)
    const evaluate = fs.readFileSync(join(importsTrain, 'evaluate.py'), 'utf8')
    fs.writeFileSync(join(importsTrain, 'evaluate.py'), evaluate.replace('import sys\n', 'import sys\n\nfrom train import HIDDEN_UNITS\n'))
    const line = fs.readFileSync(join(importsTrain, 'evaluate.py'), 'utf8').split('\n').indexOf('from train import HIDDEN_UNITS') + 1
    expect(problemsOf(importsTrain)).toBe(`the evaluate step's evaluate.py, line ${line}: "from train import HIDDEN_UNITS" imports train.py, which is editable ("train.py"): the evaluate step runs only the protected files, so this fails there after a whole train (and could let a candidate change its own score); move what it needs into a protected file`)
    // The command says so and runs no trial; --json lists it among the problems.
    const text = cli(['check', importsTrain])
    expect(text.status).toBe(1)
    expect(text.stderr).toContain(`evaluate.py, line ${line}: "from train import HIDDEN_UNITS" imports train.py, which is editable`)
    expect(text.stderr).not.toMatch(/trial 1/)
    const json = cli(['check', importsTrain, '--json'])
    expect(JSON.parse(json.stdout)).toEqual({ ok: false, problems: [expect.stringContaining('imports train.py, which is editable')] })
    // Through a protected helper, in prepare, into an editable directory.
    const viaHelper = brokenToy((m) => ({ ...m, editable: ['train.py', 'lib/'] }))
    fs.mkdirSync(join(viaHelper, 'lib'))
    fs.writeFileSync(join(viaHelper, 'lib', 'vocab.py'), 'SIZE = 3\n')
    fs.writeFileSync(join(viaHelper, 'helpers.py'), 'import os\nfrom lib import vocab\n')
    fs.writeFileSync(join(viaHelper, 'prepare.py'), 'import helpers\n' + fs.readFileSync(join(viaHelper, 'prepare.py'), 'utf8'))
    expect(problemsOf(viaHelper)).toMatch(/^the prepare step's helpers.py \(imported by prepare.py\), line 2: "from lib import vocab" imports lib\/, which is editable \("lib\/"\)/)
  })

  it('accepts an editable directory ("src/"); check and init refuse one that holds no file, or names a file', async () => {
    expect(inspectCause(EDITABLE_DIR).editable).toEqual(['src/'])
    const asDirectory = brokenToy((m) => ({ ...m, editable: ['train.py/'] }))
    expect(problemsOf(asDirectory)).toMatch(/editable "train.py\/" names a directory, but train.py is a file/)
    const empty = brokenToy((m) => ({ ...m, editable: ['train.py', 'models/'] }))
    fs.mkdirSync(join(empty, 'models'))
    expect(problemsOf(empty)).toMatch(/editable "models\/" is not in .* \(a directory entry must hold at least one file\)/)
    // init applies the same rule (protocol's editableProblems), as an InvalidManifestError.
    const home = (): string => join(fs.mkdtempSync(join(tmpdir(), 'ar-home-')), 'home')
    await expect(initHome(home(), empty)).rejects.toMatchObject({ name: 'InvalidManifestError', message: expect.stringContaining('editable "models/" is not in') })
    await expect(initHome(home(), asDirectory)).rejects.toMatchObject({ name: 'InvalidManifestError', message: expect.stringContaining('names a directory, but train.py is a file') })
  })

  it('suggests minImprovement ≈ σ and the fewest trials that pass a gain of twice that', () => {
    expect(tQuantile(0.95, 4)).toBeCloseTo(2.1318, 3)
    const s = suggestVerification([1.0, 1.01, 0.99, 1.02, 0.98], 0.95, { trials: 5, minImprovement: 0.005 })
    expect(s.sd).toBeCloseTo(0.0158, 3)
    expect(s.minImprovement).toBe(0.016)
    // σ√k/(√2σ) ≥ t(0.95, k−1) first holds at k = 8.
    expect(s.trials).toBe(8)
    expect(s.manifestPassingGain).toBeCloseTo(0.005 + tQuantile(0.95, 4) * Math.SQRT2 * s.sd / Math.sqrt(5), 6)
    // A paired gain varies at most like two independent runs: √2 × 0.0158.
    expect(s.pairNoise).toBe(0.022)
    expect(suggestVerification([2, 2, 2], 0.95, { trials: 3, minImprovement: 0 })).toMatchObject({ minImprovement: null, pairNoise: null })
  })

  it('runs prepare and baseline trials of the toy cause in the sandbox and reports the noise', async () => {
    const report = await checkCause({ causeDir: TOY, trials: 3, seedBase: 4 })
    expect(report.sandbox).toBe('bwrap')
    expect(report.trials.map((t) => [t.seed, t.ok])).toEqual([[4, true], [5, true], [6, true]])
    expect(report.noise?.sd).toBeGreaterThan(0)
    expect(report.noise?.minImprovement).toBeGreaterThan(0)
    expect(report.noise?.trials).toBeGreaterThanOrEqual(2)
    expect(report.runSeconds).toBeGreaterThan(0)
    expect(report.trials.map((t) => t.prepared)).toEqual([true, false, false])
    // With the data already prepared (the same data root again), no trial runs prepare: each times one run.
    const dataRoot = fs.mkdtempSync(join(tmpdir(), 'ar-check-data-'))
    await checkCause({ causeDir: TOY, trials: 1, dataRoot })
    const warm = await checkCause({ causeDir: TOY, trials: 2, dataRoot })
    expect(warm.trials.map((t) => t.prepared)).toEqual([false, false])
    expect(warm.prepare).toBeNull()
  })

  it('as a command: a text report, JSON, exit 1 with the reasons for a broken cause, a failing trial with its log', () => {
    const text = cli(['check', TOY, '--trials', '2'])
    expect(text.status, text.stderr).toBe(0)
    expect(text.stdout).toMatch(/noise: mean [0-9.]+, σ [0-9.e-]+ over 2 seeds \(90 % range of σ from 2 runs: [0-9.e-]+ to [0-9.e-]+\); one run takes [0-9.]+ s \(median of the 1 run that found the data prepared\)/)
    expect(text.stdout).toMatch(/seed 1 also ran prepare: about [0-9.]+ s more; slowest run: seed [12], [0-9.]+ s/)
    // The trade-off: power and time for 2, 3, 5 (the manifest's) and 8 trials.
    expect(text.stdout).toMatch(/trials against time: power = the chance a candidate truly gaining 0.01000 \(the margin 0.005 and as much again\)/)
    for (const n of [2, 3, 5, 8]) expect(text.stdout).toMatch(new RegExp(`\\n +${n} +[0-9.]+ (s|min) +\\d+ % \\(\\d+ %–\\d+ %\\) +[0-9.e-]+${n === 5 ? '   ← the manifest' : ''}\\n`))
    expect(text.stdout).toMatch(/suggestion: "minImprovement": [0-9.e-]+, "trials": \d+/)
    expect(text.stdout).toMatch(/suggestion: "sequential": \{ "noise": [0-9.e-]+ \} lets verifiers reject a clear loser/)
    const json = cli(['check', TOY, '--trials', '2', '--seed-base', '7', '--json'])
    const report = JSON.parse(json.stdout) as CheckReport
    expect(report).toMatchObject({ ok: true, cause: 'toy-regression', metricSource: 'evaluator', trials: [{ seed: 7, ok: true, prepared: true }, { seed: 8, ok: true, prepared: false }] })
    expect(report.runSeconds).toBe(report.trials[1]?.seconds)
    expect(report.prepare?.seed).toBe(7)
    const rows = report.tradeOff?.rows ?? []
    expect(rows.map((r) => r.trials)).toEqual(expect.arrayContaining([2, 3, 5, 8]))
    for (const r of rows) {
      expect(r.seconds).toBeCloseTo(r.trials * 2 * report.runSeconds, 6)
      expect(r.powerRange[0]).toBeLessThanOrEqual(r.power)
      expect(r.power).toBeLessThanOrEqual(r.powerRange[1])
    }

    const broken = cli(['check', brokenToy((m) => ({ ...m, editable: ['train.py', 'evaluate.py'], extra: true }))])
    expect(broken.status).toBe(1)
    expect(broken.stderr).toContain('Unrecognized key: "extra"')
    expect(broken.stderr).toContain('"evaluate.py" is listed as editable')

    const crashing = brokenToy((m) => m)
    fs.writeFileSync(join(crashing, 'train.py'), 'raise SystemExit("no model today")\n')
    const failed = cli(['check', crashing])
    expect(failed.status).toBe(1)
    expect(failed.stdout).toMatch(/seed 1: FAILED crash: train exited with code 1/)
    expect(failed.stdout).toContain('no model today')
  })

  it('init --template makes a home from an example cause; --from and --template are exclusive', () => {
    const scratch = fs.mkdtempSync(join(tmpdir(), 'ar-init-'))
    const ok = cli(['init', '--home', join(scratch, 'h1'), '--template', 'tiny-gpt'])
    expect(ok.status, ok.stderr).toBe(0)
    expect(ok.stdout).toMatch(/initialised tiny-gpt\/[0-9a-f]{12}/)
    expect(cli(['init', '--home', join(scratch, 'h2'), '--template', 'nope']).stderr).toMatch(/unknown template "nope" \(choose toy-regression, tiny-gpt, compressor\)/)
    expect(cli(['init', '--home', join(scratch, 'h3'), '--template', 'toy-regression', '--from', TOY]).stderr).toMatch(/give one of --from <cause dir or git repository>, --template <name> or --new <name>/)
    expect(cli(['init', '--home', join(scratch, 'h4')]).status).toBe(1)
  })

  it('examples/autoresearch: the metric comes from stdout, check asks for upstream\'s files, and the site marks the metric self-reported', async () => {
    const dir = join(EXAMPLES_DIR, 'autoresearch')
    const manifest = parseManifestText(fs.readFileSync(join(dir, MANIFEST_FILE), 'utf8'))
    expect(metricSource(manifest)).toBe('stdout')
    expect(manifest).toMatchObject({ requires: { gpu: true }, prepare: { network: true }, editable: ['train.py'] })
    // Upstream prints the metric padded with spaces.
    expect(new RegExp(manifest.metric.stdoutPattern as string).exec('val_bpb:          0.997900')?.[1]).toBe('0.997900')
    expect(problemsOf(dir)).toMatch(/editable "train.py" is not in .*\n.*the prepare step runs "prepare.py", which is not in/s)

    // With upstream's files stubbed in, a coordinator hosts it and says where its metric comes from.
    const cause = fs.mkdtempSync(join(tmpdir(), 'ar-upstream-'))
    fs.cpSync(dir, cause, { recursive: true })
    for (const f of ['train.py', 'prepare.py']) fs.writeFileSync(join(cause, f), '# stand-in for upstream\n')
    const home = join(fs.mkdtempSync(join(tmpdir(), 'ar-home-')), 'home')
    await initHome(home, cause)
    const running = await serveCoordinator({ home, listen: ['/ip4/127.0.0.1/tcp/0'], httpPort: 0 })
    try {
      expect(await (await fetch(`${running.httpUrl}/api/status`)).json()).toMatchObject({ cause: 'autoresearch', metricSource: 'stdout', metric: { name: 'val_bpb' } })
      expect(await (await fetch(`${running.httpUrl}/api/overview`)).json()).toMatchObject({ selfReported: true })
      expect(await (await fetch(`${running.httpUrl}/`)).text()).toContain('self-reported')
    } finally {
      await running.stop()
    }
  })
})
