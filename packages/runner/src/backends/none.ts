import { spawn } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { StringDecoder } from 'node:string_decoder'
import type { Readable } from 'node:stream'
import type { SandboxBackend, StepOutcome, StepSpec } from '../types.ts'

const KILL_GRACE_MS = 2000
/** How long to wait for pipes to close after the group was killed (an escaped grandchild may hold them). */
const DRAIN_MS = 2000
const MAX_LINE_CHARS = 8192

/**
 * Runs steps as plain child processes: no isolation beyond a scrubbed environment and
 * a process group that is killed as a whole. Only for trusted code or explicit opt-in.
 */
export function noneBackend (): SandboxBackend {
  return { name: 'none', run: runDirect }
}

/** Keeps the first and the last half of the output, so both the start and the final lines survive a flood. */
class CappedLog {
  private readonly head: Buffer[] = []
  private headBytes = 0
  private tail: Buffer[] = []
  private tailBytes = 0
  private total = 0
  constructor (private readonly cap: number) {}

  push (chunk: Buffer): void {
    this.total += chunk.length
    const headRoom = Math.ceil(this.cap / 2) - this.headBytes
    if (headRoom > 0) {
      const part = chunk.subarray(0, headRoom)
      this.head.push(part)
      this.headBytes += part.length
      chunk = chunk.subarray(part.length)
    }
    if (chunk.length === 0) return
    this.tail.push(chunk)
    this.tailBytes += chunk.length
    const tailCap = Math.floor(this.cap / 2)
    while (this.tail.length > 1 && this.tailBytes - (this.tail[0] as Buffer).length >= tailCap) {
      this.tailBytes -= (this.tail.shift() as Buffer).length
    }
  }

  text (): string {
    const tail = Buffer.concat(this.tail)
    const kept = tail.subarray(Math.max(0, tail.length - Math.floor(this.cap / 2)))
    const dropped = this.total - this.headBytes - kept.length
    const head = Buffer.concat(this.head).toString('utf8')
    if (dropped <= 0) return head + kept.toString('utf8')
    return `${head}\n[... ${dropped} bytes of output dropped (cap ${this.cap} bytes) ...]\n${kept.toString('utf8')}`
  }
}

function killGroup (pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** Whether a member of the group still runs; zombies count as ended (a slow init may take a while to reap orphans). */
async function groupAlive (pgid: number): Promise<boolean> {
  try {
    process.kill(-pgid, 0)
  } catch {
    return false
  }
  let pids: string[]
  try {
    pids = (await readdir('/proc')).filter((name) => /^[0-9]+$/.test(name))
  } catch {
    return true
  }
  for (const p of pids) {
    const stat = await readFile(`/proc/${p}/stat`, 'utf8').catch(() => '')
    // Fields after the parenthesised command: state, ppid, pgrp, ...
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (pgrp === String(pgid) && state !== 'Z') return true
  }
  return false
}

async function runDirect (spec: StepSpec): Promise<StepOutcome> {
  const started = Date.now()
  const base = { exitCode: null, signal: null, timedOut: false, output: '' }
  if (spec.signal?.aborted === true) return { ...base, aborted: true, durationMs: 0 }
  const [file, ...args] = spec.command
  if (file === undefined) return { ...base, exitCode: 127, aborted: false, output: 'empty command', durationMs: 0 }

  const log = new CappedLog(spec.maxOutputBytes)
  let timedOut = false
  let aborted = false
  const child = spawn(file, args, { cwd: spec.cwd, env: spec.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  const pid = child.pid

  const streamsClosed = [child.stdout, child.stderr].map((stream) => collect(stream, log, spec.onLine))
  const timers: NodeJS.Timeout[] = []
  const terminate = (): void => {
    if (pid === undefined) return
    killGroup(pid, 'SIGTERM')
    timers.push(setTimeout(() => killGroup(pid, 'SIGKILL'), KILL_GRACE_MS))
  }
  timers.push(setTimeout(() => { timedOut = true; terminate() }, spec.timeoutMs))
  const onAbort = (): void => { aborted = true; terminate() }
  spec.signal?.addEventListener('abort', onAbort, { once: true })

  const exit = await new Promise<{ code: number | null, signal: string | null, error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: 127, signal: null, error }))
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
  spec.signal?.removeEventListener('abort', onAbort)
  for (const t of timers) clearTimeout(t)

  if (pid !== undefined) {
    // The leader is gone; nothing it started may outlive the step.
    killGroup(pid, 'SIGKILL')
    const deadline = Date.now() + DRAIN_MS
    while (await groupAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const drained = await Promise.race([
    Promise.all(streamsClosed).then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), DRAIN_MS))
  ])
  if (!drained) {
    child.stdout.destroy()
    child.stderr.destroy()
  }
  let output = log.text()
  if (exit.error !== undefined) output += `\n[could not start ${file}: ${exit.error.message}]\n`
  return { exitCode: exit.code, signal: exit.signal, timedOut, aborted, output, durationMs: Date.now() - started }
}

async function collect (stream: Readable, log: CappedLog, onLine?: (line: string) => void): Promise<void> {
  const decoder = new StringDecoder('utf8')
  let partial = ''
  const emit = (text: string): void => {
    if (onLine === undefined) return
    partial += text
    let nl: number
    while ((nl = partial.indexOf('\n')) >= 0) {
      onLine(partial.slice(0, Math.min(nl, MAX_LINE_CHARS)).replace(/\r$/, ''))
      partial = partial.slice(nl + 1)
    }
    if (partial.length > MAX_LINE_CHARS) {
      onLine(partial.slice(0, MAX_LINE_CHARS))
      partial = ''
    }
  }
  await new Promise<void>((resolve) => {
    stream.on('data', (chunk: Buffer) => { log.push(chunk); emit(decoder.write(chunk)) })
    stream.once('close', () => {
      emit(decoder.end())
      if (partial !== '' && onLine !== undefined) onLine(partial)
      resolve()
    })
  })
}
