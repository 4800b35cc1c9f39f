import { execFile, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { ROOT } from './processes.ts'

const run = promisify(execFile)
const git = async (cwd: string, ...args: string[]): Promise<string> => {
  const { stdout } = await run('git', args, { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } })
  return stdout.trim()
}

describe('npm run demo: the cause is a git remote', () => {
  it('git clone from the demo network checks out the best /api/status reports, and git fetch after the next merge brings the new best', async () => {
    const demo = spawn('npm', ['run', '--silent', 'demo', '--', '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    const output: string[] = []
    createInterface({ input: demo.stderr }).on('line', (l) => output.push(l))
    try {
      // The demo prints the clone command once its coordinator is up.
      const url = await new Promise<string>((resolve, reject) => {
        createInterface({ input: demo.stdout }).on('line', (line) => {
          output.push(line)
          const m = /git clone (http:\/\/\S+\/cause\.git)/.exec(line)
          if (m !== null) resolve(m[1] as string)
        })
        demo.once('exit', (code) => { reject(new Error(`demo exited (${code}) before its coordinator was up:\n${output.slice(-30).join('\n')}`)) })
      })
      const http = url.replace(/\/cause\.git$/, '')
      const status = async (): Promise<{ merges: number, best: { commit: string } }> => await (await fetch(`${http}/api/status`)).json() as { merges: number, best: { commit: string } }
      // One deadline for the whole wait, inside the test's own timeout, so that a stall prints the demo's last lines.
      const deadline = Date.now() + 200_000
      const mergesAtLeast = async (n: number): Promise<{ merges: number, best: { commit: string } }> => {
        for (;;) {
          const s = await status()
          if (s.merges >= n) return s
          if (Date.now() > deadline) throw new Error(`no ${n} merge(s) in time:\n${output.slice(-30).join('\n')}`)
          await new Promise((resolve) => setTimeout(resolve, 500))
        }
      }

      // Cloned as soon as the coordinator is up, before its first merge: the toy cause runs out of
      // gains after a few merges (README), so only the first one is sure to come.
      const first = await status()
      const dir = mkdtempSync(join(tmpdir(), 'ar-demo-clone-'))
      await git(dir, 'clone', url, 'cause')
      const clone = join(dir, 'cause')
      // A merge may land between the status read and the clone: the clone has the best at that moment or a later one.
      const cloned = await git(clone, 'rev-parse', 'HEAD')
      const now = await status()
      expect([first.best.commit, now.best.commit]).toContain(cloned)
      expect(await git(clone, 'cat-file', '-t', first.best.commit)).toBe('commit')

      const next = await mergesAtLeast(now.merges + 1)
      await git(clone, 'fetch', 'origin')
      const fetched = await git(clone, 'rev-parse', 'origin/best')
      expect(fetched).not.toBe(cloned)
      // The fetched best is the new one (or one merged since), with the cloned best in its history.
      expect([next.best.commit, (await status()).best.commit]).toContain(fetched)
      await git(clone, 'merge-base', '--is-ancestor', cloned, fetched)
    } finally {
      // npm, the demo and its processes: the whole group.
      if (demo.pid !== undefined && demo.exitCode === null) process.kill(-demo.pid, 'SIGINT')
      await new Promise((resolve) => { if (demo.exitCode !== null) resolve(undefined); else demo.once('exit', resolve) })
    }
  })
})
