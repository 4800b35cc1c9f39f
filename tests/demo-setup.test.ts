import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, realpathSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from './processes.ts'

/**
 * A PATH with node, npm and a shell but no bwrap, apt-get or sudo: the demo's set-up can
 * find nothing to install with, so these tests never install anything (they run as root).
 */
function bareBin (): string {
  const bin = mkdtempSync(join(tmpdir(), 'ar-bare-bin-'))
  symlinkSync(process.execPath, join(bin, 'node'))
  symlinkSync(realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim()), join(bin, 'npm'))
  for (const shell of ['sh', 'bash']) symlinkSync(realpathSync(`/bin/${shell}`), join(bin, shell))
  for (const absent of ['bwrap', 'apt-get', 'sudo']) expect(existsSync(join(bin, absent))).toBe(false)
  return bin
}

describe('npm run demo: set-up', () => {
  it('stops within 60 s, naming the missing package and the fix, when PATH has no bwrap and nothing can install it', () => {
    const bin = bareBin()
    const started = Date.now()
    const run = spawnSync(join(bin, 'npm'), ['run', '--silent', 'demo', '--', '--merges', '1', '--port', '0'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, PATH: bin } })
    const seconds = (Date.now() - started) / 1000
    const output = run.stdout + run.stderr
    expect(run.status, output).not.toBe(0)
    expect(run.status, output).not.toBeNull()
    expect(seconds).toBeLessThan(60)
    expect(run.stderr).toContain('demo: bubblewrap is missing (not installed: no apt-get on PATH): run `apt-get install -y bubblewrap`')
    // Nothing of the network was started.
    expect(output).not.toContain('[coordinator]')
  })

  it('prints the sudo command for a user who is not root and has no passwordless sudo', () => {
    const bin = bareBin()
    // As nobody, through util-linux's setpriv (the runner's own helper for dropping root).
    const run = spawnSync('/usr/bin/setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', join(bin, 'bash'), join(ROOT, 'scripts', 'system-packages.sh'), 'demo'], { cwd: '/', encoding: 'utf8', timeout: 30_000, env: { PATH: bin } })
    expect(run.status, run.stderr).toBe(1)
    expect(run.stderr).toContain('bubblewrap is missing: the sandbox every experiment runs in')
    expect(run.stderr).toContain('not installing: no apt-get on PATH')
    expect(run.stderr).toContain('run `sudo apt-get install -y bubblewrap`')
  })
})

describe('npm run demo: processes that die', () => {
  it('exits 1 naming the dead workers and their last lines instead of running on without them', () => {
    // Its own --timeout would end it too, with another message; the test's limit ends neither.
    const run = spawnSync('npm', ['run', '--silent', 'demo', '--', '--merges', '1', '--port', '0', '--workers', '2', '--agent', 'no-such-agent', '--timeout', '600'], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 })
    const output = run.stdout + run.stderr
    expect(run.status, output).toBe(1)
    expect(run.stderr).toContain('demo: the demo stops: no worker is left, so no experiment runs.')
    for (const worker of ['worker-1', 'worker-2']) {
      expect(run.stderr).toMatch(new RegExp(`${worker} exited \\(code 1\\); its last lines:\\n.*unknown agent "no-such-agent"`))
    }
    expect(output).not.toContain('merges after')
  })
})
