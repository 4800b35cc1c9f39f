import { spawn } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { constants } from 'node:os'
import { StringDecoder } from 'node:string_decoder'
import type { Readable, Writable } from 'node:stream'
import { logger } from '@libp2p/logger'
import { kill } from '../signal.ts'
import { activeSpawner } from '../spawner/client.ts'
import type { SpawnedSpec } from '../spawner/messages.ts'
import type { StepOutcome, StepSpec } from '../types.ts'

const debug = logger('autoresearch:runner:spawn')

const KILL_GRACE_MS = 2000
/** How long to wait for the killed tree to be gone. */
const TREE_WAIT_MS = 5000
/** How long to wait for pipes to close after that (an escaped grandchild may hold them). */
const DRAIN_MS = 2000
const MAX_LINE_CHARS = 8192

/** How one backend starts a step: the argv it really runs and how it stops what a signal cannot reach. */
export interface SpawnPlan {
  argv: string[]
  /** Where the argv starts; default: the spec's cwd (which may exist only inside a trial disk's namespace). */
  cwd?: string
  /** Default: the spec's environment. */
  env?: Record<string, string>
  /** Called on timeout, abort and after exit: stops what lives outside the process tree (a container). */
  stop?: () => Promise<void>
  /** Data the child reads from its fd 3 (bwrap's seccomp filter). */
  fd3?: Buffer
  /** Read what the child writes to its fd 4 (bwrap's JSON status) into the outcome's `status`. */
  readFd4?: boolean
  /** bwrap reports a child killed by signal n as exit code 128+n. */
  exitCodeIsSignal?: boolean
  /**
   * The spawned process is a sandbox's monitor that takes the step down with it when signalled
   * (bwrap, a container client): the budget's SIGTERM goes only to what runs inside, via its
   * descendants and `term`, so the step can end cleanly.
   */
  monitor?: boolean
  /** Sends SIGTERM to what lives outside the process tree (a container). */
  term?: () => Promise<void>
  /** Told the leader's pid once it runs (the spawner process reports it, so its runner can kill the group should it die). */
  onSpawn?: (pid: number) => void
}

/** What runSpawned reads of a step. */
export type SpawnedStep = SpawnedSpec & Pick<StepSpec, 'signal' | 'onLine'>

/**
 * Runs `plan.argv` for `spec` (runHere), from the spawner process when this process uses one
 * (spawner/client.ts); a plan with callbacks of its own (a container's stop) runs here.
 */
export async function runSpawned (spec: SpawnedStep, plan: SpawnPlan): Promise<StepOutcome & { status?: string }> {
  const spawner = activeSpawner()
  if (spawner === undefined || plan.stop !== undefined || plan.term !== undefined || plan.onSpawn !== undefined) return await runHere(spec, plan)
  const { argv, cwd, env, fd3, readFd4, exitCodeIsSignal, monitor } = plan
  return await spawner.step(spec, { argv, cwd, env, fd3, readFd4, exitCodeIsSignal, monitor })
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

interface ProcInfo { pid: number, ppid: number, pgrp: number, zombie: boolean, start: string }

async function processes (): Promise<ProcInfo[]> {
  const names = (await readdir('/proc').catch((err: unknown) => { debug.error('cannot list /proc: %e', err); return [] as string[] })).filter((name) => /^[0-9]+$/.test(name))
  const out: ProcInfo[] = []
  for (const name of names) {
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch((err: unknown) => { debug('process %s is gone: %e', name, err); return '' })
    if (stat === '') continue
    // Fields after the parenthesised command: state, ppid, pgrp, ...; starttime is the 20th of them.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    out.push({ pid: Number(name), ppid: Number(fields[1]), pgrp: Number(fields[2]), zombie: fields[0] === 'Z', start: fields[19] ?? '' })
  }
  return out
}

/**
 * Processes of one step beyond its process group: every descendant seen while it was still
 * one (orphans lose that link). Kept with their start time, so that a recycled pid is never killed.
 */
class Tree {
  private readonly known = new Map<number, string>()
  constructor (private readonly root: number) {}

  async collect (): Promise<void> {
    const all = await processes()
    const frontier = [this.root]
    while (frontier.length > 0) {
      const parent = frontier.pop() as number
      for (const p of all) {
        if (p.ppid === parent && !p.zombie && !this.known.has(p.pid)) {
          this.known.set(p.pid, p.start)
          frontier.push(p.pid)
        }
      }
    }
  }

  /** Signals the group and the known descendants (only those with `spareRoot`); true while any of them still runs (zombies count as ended). */
  async signal (signal: NodeJS.Signals, spareRoot = false): Promise<boolean> {
    // An empty group with no known descendant has nothing left to find: skip the walk of /proc, which takes tens of ms.
    if (!spareRoot && !kill(-this.root, signal) && this.known.size === 0) return false
    let alive = false
    for (const p of await processes()) {
      if (p.zombie) continue
      if (p.pgrp === this.root) alive = true
      else if (this.known.get(p.pid) === p.start) {
        kill(p.pid, signal)
        alive = true
      }
    }
    return alive
  }
}

/**
 * Runs `plan.argv` for `spec` in a new process group with exactly `spec.env`, captures capped
 * output, enforces the wall-time limit and the abort signal, and resolves only once the group
 * and every descendant seen at kill time have ended.
 */
export async function runHere (spec: SpawnedStep, plan: SpawnPlan): Promise<StepOutcome & { status?: string }> {
  const started = Date.now()
  const base = { exitCode: null, signal: null, timedOut: false, overBudget: false, output: '' }
  if (spec.signal?.aborted === true) return { ...base, aborted: true, durationMs: 0 }
  const [file, ...args] = plan.argv
  if (file === undefined || spec.command.length === 0) return { ...base, exitCode: 127, aborted: false, output: 'empty command', durationMs: 0 }

  const log = new CappedLog(spec.maxOutputBytes)
  let timedOut = false
  let aborted = false
  let overBudget = false
  const extra = plan.readFd4 === true ? ['pipe', 'pipe'] as const : plan.fd3 !== undefined ? ['pipe'] as const : []
  const child = spawn(file, args, { cwd: plan.cwd ?? spec.cwd, env: plan.env ?? spec.env, detached: true, stdio: ['ignore', 'pipe', 'pipe', ...extra] })
  const pid = child.pid
  if (pid !== undefined) plan.onSpawn?.(pid)
  const stdout = child.stdout as Readable
  const stderr = child.stderr as Readable
  if (plan.fd3 !== undefined) {
    const fd3 = child.stdio[3] as Writable
    // A step that ends before reading its filter closes the pipe: the step's outcome says what happened.
    fd3.on('error', (err) => { debug('fd 3 of %d closed early: %e', pid, err) })
    fd3.end(plan.fd3)
  }
  let status = ''
  const statusClosed = plan.readFd4 !== true
    ? Promise.resolve()
    : new Promise<void>((resolve) => {
      const fd4 = child.stdio[4] as Readable
      fd4.on('data', (chunk: Buffer) => { if (status.length < 65536) status += chunk.toString('utf8') })
      fd4.once('close', () => resolve())
      fd4.once('error', () => resolve())
    })
  const tree = pid === undefined ? undefined : new Tree(pid)

  const streamsClosed = [stdout, stderr].map((stream) => collect(stream, log, spec.onLine))
  const timers: NodeJS.Timeout[] = []
  const killAll = async (signal: NodeJS.Signals): Promise<void> => {
    await tree?.collect()
    await tree?.signal(signal)
  }
  const terminate = (): void => {
    void killAll('SIGTERM')
    void plan.stop?.()
    timers.push(setTimeout(() => { void killAll('SIGKILL') }, KILL_GRACE_MS))
  }
  timers.push(setTimeout(() => { timedOut = true; terminate() }, spec.timeoutMs))
  if (spec.budget !== undefined) {
    const { seconds, graceSeconds } = spec.budget
    timers.push(setTimeout(() => {
      overBudget = true
      void (async () => { await tree?.collect(); await tree?.signal('SIGTERM', plan.monitor === true) })()
      void plan.term?.()
    }, seconds * 1000))
    timers.push(setTimeout(() => {
      void killAll('SIGKILL')
      void plan.stop?.()
    }, (seconds + graceSeconds) * 1000))
  }
  const onAbort = (): void => { aborted = true; terminate() }
  spec.signal?.addEventListener('abort', onAbort, { once: true })

  const exit = await new Promise<{ code: number | null, signal: string | null, error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: 127, signal: null, error }))
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
  spec.signal?.removeEventListener('abort', onAbort)
  for (const t of timers) clearTimeout(t)

  if (tree !== undefined) {
    // The leader is gone; nothing it started may outlive the step.
    await plan.stop?.()
    const deadline = Date.now() + TREE_WAIT_MS
    while (await tree.signal('SIGKILL') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const drained = await Promise.race([
    Promise.all([...streamsClosed, statusClosed]).then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), DRAIN_MS))
  ])
  if (!drained) {
    stdout.destroy()
    stderr.destroy()
    ;(child.stdio[4] as Readable | null | undefined)?.destroy()
  }
  let output = log.text()
  if (exit.error !== undefined) output += `\n[could not start ${file}: ${exit.error.message}]\n`
  let { code, signal } = exit
  if (plan.exitCodeIsSignal === true && signal === null && code !== null && code > 128 && code < 128 + 65) {
    signal = signalName(code - 128) ?? null
  }
  return { exitCode: code, signal, timedOut, overBudget, aborted, output, durationMs: Date.now() - started, ...(plan.readFd4 === true ? { status } : {}) }
}

function signalName (n: number): string | undefined {
  return Object.entries(constants.signals).find(([, v]) => v === n)?.[0]
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
