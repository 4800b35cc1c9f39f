import { spawn, type ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'
import { createInterface } from 'node:readline'

export const ROOT = resolve(import.meta.dirname, '..')

export interface Proc {
  child: ChildProcess
  lines: string[]
  /** Resolves with the first JSON stdout line for which `match` is true. */
  waitForJson: <T = Record<string, unknown>>(match: (event: Record<string, unknown>) => boolean, timeoutMs: number) => Promise<T>
  stop: () => Promise<void>
}

/** Starts one of the project's bins as a real process (stdout lines are collected). */
export function startBin (bin: string, args: string[]): Proc {
  const child = spawn(process.execPath, [resolve(ROOT, bin), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_NO_WARNINGS: '1' } })
  const lines: string[] = []
  const waiters = new Set<(line: string) => void>()
  createInterface({ input: child.stdout! }).on('line', (line) => { lines.push(line); for (const w of waiters) w(line) })
  createInterface({ input: child.stderr! }).on('line', (line) => { lines.push(`stderr: ${line}`) })
  return {
    child,
    lines,
    waitForJson: async <T>(match: (event: Record<string, unknown>) => boolean, timeoutMs: number): Promise<T> => new Promise<T>((resolvePromise, reject) => {
      const check = (line: string): boolean => {
        try {
          const event = JSON.parse(line) as Record<string, unknown>
          if (match(event)) { resolvePromise(event as T); return true }
        } catch {}
        return false
      }
      for (const line of lines) if (check(line)) return
      const timer = setTimeout(() => { waiters.delete(waiter); reject(new Error(`${bin}: no matching event within ${timeoutMs} ms; last lines:\n${lines.slice(-15).join('\n')}`)) }, timeoutMs)
      const waiter = (line: string): void => { if (check(line)) { clearTimeout(timer); waiters.delete(waiter) } }
      waiters.add(waiter)
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${bin} exited (${code}); last lines:\n${lines.slice(-15).join('\n')}`)) })
    }),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
  }
}
