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

  it.each([
    [BINS[2]!, ['--coordinator', '/ip4/127.0.0.1/tcp/9', '--slots', '65'], "option '--slots <n>' argument '65' is invalid. a whole number from 1 to 64"],
    [BINS[2]!, ['--coordinator', '/ip4/127.0.0.1/tcp/9', '--max-jobs', 'ten'], "option '--max-jobs <n>' argument 'ten' is invalid. a whole number of at least 1"],
    [BINS[1]!, ['--coordinator', '/ip4/127.0.0.1/tcp/9', '--max-experiments', '0'], "option '--max-experiments <n>' argument '0' is invalid"],
    [BINS[1]!, ['--coordinator', '/ip4/127.0.0.1/tcp/9', '--agent-timeout', '1.5'], "option '--agent-timeout <seconds>' argument '1.5' is invalid"],
    [BINS[0]!, ['serve', '--http-port', '70000'], "option '--http-port <port>' argument '70000' is invalid. a whole number from 0 to 65535"]
  ])('%s refuses a number it cannot use, naming the option, before it starts anything', (bin, args, message) => {
    const out = run(bin, args)
    expect(out.status).toBe(1)
    expect(out.stderr).toContain(message)
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
