import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { MANIFEST_FILE, metricSource, parseManifestText } from '@autoresearch/protocol'
import { CauseCheckError, checkCause, inspectCause, suggestVerification, tQuantile } from '../src/check.ts'
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
  })

  it('as a command: a text report, JSON, exit 1 with the reasons for a broken cause, a failing trial with its log', () => {
    const text = cli(['check', TOY, '--trials', '2'])
    expect(text.status, text.stderr).toBe(0)
    expect(text.stdout).toMatch(/noise: mean [0-9.]+, σ [0-9.e-]+ over 2 seeds; one run takes/)
    expect(text.stdout).toMatch(/suggestion: "minImprovement": [0-9.e-]+, "trials": \d+/)
    expect(text.stdout).toMatch(/suggestion: "sequential": \{ "noise": [0-9.e-]+ \} lets verifiers reject a clear loser/)
    const json = cli(['check', TOY, '--trials', '2', '--seed-base', '7', '--json'])
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, cause: 'toy-regression', metricSource: 'evaluator', trials: [{ seed: 7, ok: true }, { seed: 8, ok: true }] })

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
    expect(cli(['init', '--home', join(scratch, 'h2'), '--template', 'nope']).stderr).toMatch(/unknown template "nope" \(choose toy-regression, tiny-gpt\)/)
    expect(cli(['init', '--home', join(scratch, 'h3'), '--template', 'toy-regression', '--from', TOY]).stderr).toMatch(/either --from <cause dir> or --template <name>/)
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
