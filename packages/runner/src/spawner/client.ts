import { type ChildProcess, fork } from 'node:child_process'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import { SpawnerError } from '../errors.ts'
import { kill } from '../signal.ts'
import type { StepSpec } from '../types.ts'
import type { PlainPlan, Reply, Request, SpawnedOutcome, SpawnedSpec, ToolResult } from './messages.ts'

const log = logger('autoresearch:runner:spawner')

interface InFlight {
  kind: 'step' | 'tool'
  child: ChildProcess
  started: number
  pid?: number
  onLine?: (line: string) => void
  resolve: (value: SpawnedOutcome | ToolResult) => void
  reject: (err: Error) => void
}

/** A step that outlived the spawner process: its process group is killed, and it ends as the runner's trouble. */
function lost (kind: 'step' | 'tool', started: number, why: string): SpawnedOutcome | ToolResult {
  const message = `[the spawner process ${why} before this ended]`
  if (kind === 'tool') return { ok: false, stdout: '', stderr: message }
  return { exitCode: null, signal: null, timedOut: false, overBudget: false, aborted: false, output: message, durationMs: Date.now() - started }
}

/**
 * Starts the runner's children from a small process of its own instead of the runner's
 * (`useSpawner`): each fork then costs the runner an IPC message instead of holding its
 * event loop while its page tables are copied (15–20 ms each in a process running a
 * network's worth of participants, docs/benchmarks.md). The process starts on first use,
 * keeps the runner alive only while something runs through it, and is started again if it dies.
 */
export class Spawner {
  #child: ChildProcess | undefined
  #ready: Promise<void> | undefined
  #next = 0
  readonly #inFlight = new Map<number, InFlight>()

  async step (spec: SpawnedSpec & Pick<StepSpec, 'signal' | 'onLine'>, plan: PlainPlan): Promise<SpawnedOutcome> {
    const { command, cwd, env, timeoutMs, maxOutputBytes, budget } = spec
    const id = this.#next++
    const onAbort = (): void => {
      const child = this.#inFlight.get(id)?.child
      if (child?.connected === true) child.send({ type: 'abort', id } satisfies Request)
    }
    const done = this.#start<SpawnedOutcome>(id, 'step', { type: 'step', id, spec: { command, cwd, env, timeoutMs, maxOutputBytes, ...(budget === undefined ? {} : { budget }) }, plan, lines: spec.onLine !== undefined }, spec.onLine)
    if (spec.signal?.aborted === true) onAbort()
    spec.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      return await done
    } finally {
      spec.signal?.removeEventListener('abort', onAbort)
    }
  }

  async tool (argv: string[], timeoutMs: number): Promise<ToolResult> {
    const id = this.#next++
    return await this.#start<ToolResult>(id, 'tool', { type: 'tool', id, argv, timeoutMs })
  }

  /** Resolves once the spawner process runs (starting it), so that its start-up (about a second) is not the first step's. */
  async ready (): Promise<void> {
    if (this.#child?.connected !== true) this.#spawn()
    await this.#ready
  }

  /** Ends the spawner process: steps still running in it are stopped as an abort stops them and end as lost; tree tools finish first. */
  close (): void {
    this.#child?.disconnect()
  }

  async #start<T extends SpawnedOutcome | ToolResult> (id: number, kind: 'step' | 'tool', request: Request, onLine?: (line: string) => void): Promise<T> {
    return await new Promise<T>((resolve, reject) => {
      // A spawner process that is ending (close) takes nothing new.
      const child = this.#child?.connected === true ? this.#child : this.#spawn()
      this.#inFlight.set(id, { kind, child, started: Date.now(), onLine, resolve: resolve as (value: SpawnedOutcome | ToolResult) => void, reject })
      this.#hold(child)
      child.send(request)
    })
  }

  #spawn (): ChildProcess {
    // The helper is TypeScript like the rest of the runner: the same loader, whatever flags the runner itself was started with.
    const child = fork(join(import.meta.dirname, 'helper.ts'), [], { execArgv: ['--import', import.meta.resolve('tsx')], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    log('spawner process %d started', child.pid)
    this.#ready = new Promise((resolve) => {
      child.on('message', (reply: Reply) => { if (reply.type === 'ready') resolve() })
      // A process that dies first is started again by the next step.
      child.once('exit', () => { resolve() })
      child.once('error', () => { resolve() })
    })
    child.on('message', (reply: Reply) => { this.#reply(reply) })
    // A send after the process died: its exit resolves what was in flight.
    child.on('error', (err) => { log.error('spawner process %s: %e', child.pid, err) })
    child.once('exit', (code, signal) => { this.#gone(child, `exited (${signal ?? `code ${code}`})`) })
    // A process that could not start may never emit exit.
    child.once('error', (err) => { if (child.pid === undefined) this.#gone(child, `could not start (${err.message})`) })
    this.#child = child
    return child
  }

  /** What was in flight in a spawner process that is gone: its process groups are killed, and each ends as lost. */
  #gone (child: ChildProcess, why: string): void {
    if (this.#child === child) this.#child = undefined
    const orphans = [...this.#inFlight].filter(([, f]) => f.child === child)
    if (orphans.length > 0) log.error('spawner process %s with %d running', why, orphans.length)
    for (const [id, f] of orphans) {
      if (f.pid !== undefined) kill(-f.pid, 'SIGKILL')
      this.#inFlight.delete(id)
      f.resolve(lost(f.kind, f.started, why))
    }
  }

  #reply (reply: Reply): void {
    if (reply.type === 'ready') return
    const f = this.#inFlight.get(reply.id)
    if (f === undefined) return
    if (reply.type === 'pid') f.pid = reply.pid
    else if (reply.type === 'lines') for (const line of reply.lines) f.onLine?.(line)
    else {
      this.#inFlight.delete(reply.id)
      this.#hold(f.child)
      if (reply.type === 'failed') f.reject(new SpawnerError(reply.message))
      else f.resolve(reply.type === 'step-done' ? reply.outcome : reply.result)
    }
  }

  /** The spawner process keeps the runner's process alive only while something runs through it. */
  #hold (child: ChildProcess): void {
    if ([...this.#inFlight.values()].some((f) => f.child === child)) {
      child.ref()
      child.channel?.ref()
    } else {
      child.unref()
      child.channel?.unref()
    }
  }
}

let active: Spawner | undefined

/**
 * From now on this process starts its steps and tree tools from a spawner process (one per
 * process, shared). For a process that runs many trials at once beside other work (the
 * benchmarks' in-process network); a container step, whose backend stops what lives outside
 * the process tree, is still spawned here.
 */
export function useSpawner (): Spawner {
  active ??= new Spawner()
  return active
}

/** Back to spawning from this process; the spawner process ends once what runs through it has. */
export function stopSpawner (): void {
  active?.close()
  active = undefined
}

/** The spawner this process starts its children from, if any (runSpawned and the tree tools ask). */
export function activeSpawner (): Spawner | undefined {
  return active
}
