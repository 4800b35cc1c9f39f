import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT, startBin } from './processes.ts'

const BINS = ['coordinator/bin/autoresearch-coordinator.js', 'worker/bin/autoresearch-worker.js', 'verifier/bin/autoresearch-verifier.js']
const run = (bin: string, args: string[]) => spawnSync(process.execPath, [resolve(ROOT, bin), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })

describe('command lines', () => {
  it.each(BINS)('%s --help answers', (bin) => {
    const out = run(bin, ['--help'])
    expect(out.status).toBe(0)
    expect(out.stdout).toMatch(/^Usage: autoresearch-/)
    expect(out.stdout.length).toBeGreaterThan(200)
  })

  it('coordinator init explains a broken manifest and refuses to overwrite a home', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'ar-cli-'))
    const cause = join(scratch, 'cause')
    mkdirSync(cause)
    writeFileSync(join(cause, 'autoresearch.json'), JSON.stringify({ name: 'x', editable: ['evaluate.py', 'autoresearch.json'], train: { command: ['python3', 'train.py'] }, metric: { name: 'm', direction: 'down' }, verification: { minImprovement: 0.1 }, surprise: 1 }))
    const broken = run(BINS[0]!, ['init', '--home', join(scratch, 'h1'), '--from', cause])
    expect(broken.status).toBe(1)
    expect(broken.stderr).toContain('InvalidManifestError')
    expect(broken.stderr).toContain('metric.direction')
    expect(broken.stderr).toContain('surprise')
    writeFileSync(join(cause, 'autoresearch.json'), JSON.stringify({ name: 'x', editable: ['autoresearch.json'], train: { command: ['python3', 'train.py'] }, metric: { name: 'm', direction: 'minimize' }, verification: { minImprovement: 0.1 } }))
    const protectedManifest = run(BINS[0]!, ['init', '--home', join(scratch, 'h1'), '--from', cause])
    expect(protectedManifest.status).toBe(1)
    expect(protectedManifest.stderr).toContain('autoresearch.json is always protected')
    expect(protectedManifest.stderr).toContain('metric.stdoutPattern')

    const home = join(scratch, 'h2')
    expect(run(BINS[0]!, ['init', '--home', home, '--from', join(ROOT, 'examples', 'toy-regression')]).status).toBe(0)
    const again = run(BINS[0]!, ['init', '--home', home, '--from', join(ROOT, 'examples', 'toy-regression')])
    expect(again.status).toBe(1)
    expect(again.stderr).toContain('already a coordinator home')
  })

  it('a worker whose coordinator is unreachable says so and retries', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'ar-cli-'))
    const worker = startBin(BINS[1]!, ['--coordinator', '/ip4/127.0.0.1/tcp/9/p2p/12D3KooWPkHKvfRNj6zBaDxutfcCSYCuTCBaE4ryEsnJs47Vd5uo', '--identity', join(scratch, 'id.key'), '--state', scratch])
    try {
      for (let i = 0; i < 200 && !worker.lines.some((l) => l.includes('retrying in')); i++) await new Promise((r) => setTimeout(r, 250))
      expect(worker.lines.join('\n')).toMatch(/worker: \w+: .*; retrying in 1 s/)
    } finally {
      await worker.stop()
    }
  })
})
