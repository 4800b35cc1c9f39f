/** A coordinator in its own process, for attacks that may take the whole process down. */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { initHome } from 'autoresearch-coordinator'
import { ROOT } from '../processes.ts'
import { TOY } from './arena.ts'

export interface CoordinatorProcess {
  child: ChildProcess
  address: string
  home: string
  lines: string[]
  /** Whether the process is still running. */
  alive: () => boolean
  stop: () => Promise<void>
}

/** Runs `autoresearch-coordinator serve` on a fresh home made from `cause`, with a V8 heap of `heapMb`. */
export async function spawnCoordinator (cause = TOY, opts: { heapMb?: number } = {}): Promise<CoordinatorProcess> {
  const home = join(mkdtempSync(join(tmpdir(), 'ar-adv-proc-')), 'home')
  await initHome(home, cause)
  const args = [...(opts.heapMb === undefined ? [] : [`--max-old-space-size=${opts.heapMb}`]), join(ROOT, 'coordinator', 'bin', 'autoresearch-coordinator.js'),
    'serve', '--home', home, '--listen', '/ip4/127.0.0.1/tcp/0', '--http-port', '0', '--json']
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_NO_WARNINGS: '1' } })
  const lines: string[] = []
  createInterface({ input: child.stderr! }).on('line', (line) => { lines.push(`stderr: ${line}`) })
  const address = await new Promise<string>((resolvePromise, reject) => {
    const timer = setTimeout(() => { reject(new Error(`coordinator did not start:\n${lines.join('\n')}`)) }, 60_000)
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line)
      // With --json every event is one JSON line; anything else (a warning) is only kept in `lines`.
      if (!line.startsWith('{"event":')) return
      const event = JSON.parse(line) as { event?: string, multiaddrs?: string[] }
      if (event.event === 'ready') { clearTimeout(timer); resolvePromise(event.multiaddrs![0]!) }
    })
    child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`coordinator exited (${code ?? signal}):\n${lines.join('\n')}`)) })
  })
  const alive = (): boolean => child.exitCode === null && child.signalCode === null
  return {
    child, address, home, lines, alive,
    stop: async () => {
      if (!alive()) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
  }
}
