import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { selectBackend } from '@autoresearch/runner'
import { removeTempDirs, tempDir, TOY_DIR, toyVariant } from './helpers.ts'

afterEach(removeTempDirs)

const BIN = fileURLToPath(new URL('../bin/autoresearch-run.js', import.meta.url))
const bwrapWorks = (() => { try { selectBackend({ sandbox: 'bwrap' }); return true } catch { return false } })()

function cli (...args: string[]): { status: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('autoresearch-run', () => {
  it('answers --help', () => {
    const r = cli('--help')
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('autoresearch-run')
    expect(r.stdout).toContain('--sandbox')
    expect(r.stdout).toContain('--seed')
  })

  it.skipIf(!bwrapWorks)('runs a trial in bubblewrap by default and prints the result as JSON', () => {
    const r = cli(TOY_DIR, '--seed', '3', '--json', '--data-root', tempDir('ar-data-'))
    expect(r.status, r.stderr).toBe(0)
    const result = JSON.parse(r.stdout) as { ok: boolean, metric: number, sandbox: string, metricSource: string, seed: number }
    expect(result).toMatchObject({ ok: true, sandbox: 'bwrap', metricSource: 'evaluator', seed: 3 })
    expect(result.metric).toBeGreaterThan(0)
  })

  it('exits non-zero with the reason of a failed trial, and warns when unsandboxed', () => {
    const cause = toyVariant({ 'train.py': 'import time\ntime.sleep(60)\n' })
    const manifest = JSON.parse(fs.readFileSync(`${cause}/autoresearch.json`, 'utf8')) as { train: { timeoutSeconds: number } }
    manifest.train.timeoutSeconds = 1
    fs.writeFileSync(`${cause}/autoresearch.json`, JSON.stringify(manifest))
    const r = cli(cause, '--sandbox', 'none', '--data-root', tempDir('ar-data-'))
    expect(r.status).toBe(1)
    expect(r.stdout).toMatch(/^trial failed: timeout: /)
    expect(r.stderr).toMatch(/WITHOUT A SANDBOX/)
  })

  it('exits 2 when the cause or the sandbox cannot be used', () => {
    expect(cli(tempDir()).status).toBe(2)
    const r = cli(TOY_DIR, '--sandbox', 'docker')
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/needs an image/)
  })
})
