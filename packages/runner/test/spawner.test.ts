import { ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import { createRequire, syncBuiltinESMExports } from 'node:module'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { noneBackend, runTrial, selectBackend, Spawner, stopSpawner, useSpawner, type StepSpec } from '@autoresearch/runner'
import { processAlive, removeTempDirs, tempDir, TOY_DIR, toyManifest } from './helpers.ts'

afterEach(() => {
  stopSpawner()
  removeTempDirs()
})

function spec (command: string[], extra: Partial<StepSpec> = {}): StepSpec {
  return { command, cwd: tempDir(), env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeoutMs: 10_000, writable: [], readOnly: [], maxOutputBytes: 1 << 20, ...extra }
}

/** The parent of a process, from /proc. */
function parentOf (pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
}

describe('spawner process', () => {
  it('starts steps from a process of its own, with their lines, output and exit code', async () => {
    await useSpawner().ready()
    const lines: string[] = []
    const out = await noneBackend().run(spec(['sh', '-c', 'echo "parent $PPID"; echo two >&2; exit 3'], { onLine: (l) => lines.push(l) }))
    expect(out.exitCode).toBe(3)
    const parent = Number(/parent ([0-9]+)/.exec(out.output)?.[1])
    expect(parent).not.toBe(process.pid)
    expect(parentOf(parent)).toBe(process.pid)
    expect(lines.sort()).toEqual([`parent ${parent}`, 'two'])
  })

  it('a step\'s many lines cross in a few messages, whole and in order', async () => {
    await useSpawner().ready()
    const lines: string[] = []
    let messages = 0
    const emit = ChildProcess.prototype.emit
    ChildProcess.prototype.emit = function (this: ChildProcess, event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'message') messages++
      return Reflect.apply(emit, this, [event, ...args]) as boolean
    }
    try {
      const out = await noneBackend().run(spec(['seq', '20000'], { onLine: (l) => lines.push(l) }))
      expect(out.exitCode).toBe(0)
    } finally {
      ChildProcess.prototype.emit = emit
    }
    expect(lines).toEqual(Array.from({ length: 20_000 }, (_, i) => String(i + 1)))
    // One per line before; now one per read of the pipe (64 KiB, about 6,000 of these lines), plus the step's own.
    expect(messages).toBeGreaterThanOrEqual(3)
    expect(messages).toBeLessThan(100)
  })

  it('keeps the time limit and the abort signal', async () => {
    useSpawner()
    const late = await noneBackend().run(spec(['sh', '-c', 'trap "" TERM; exec sleep 100'], { timeoutMs: 300 }))
    expect(late).toMatchObject({ timedOut: true, signal: 'SIGKILL' })
    const controller = new AbortController()
    setTimeout(() => { controller.abort() }, 300)
    const aborted = await noneBackend().run(spec(['sleep', '100'], { signal: controller.signal }))
    expect(aborted).toMatchObject({ aborted: true, timedOut: false })
  })

  it('a step outlives no spawner process: killed with it, it ends as the runner\'s trouble and the next step starts a new one', async () => {
    const spawner = new Spawner()
    const dir = tempDir()
    const running = spawner.step({ command: ['sh'], cwd: dir, env: { PATH: '/usr/bin:/bin' }, timeoutMs: 60_000, maxOutputBytes: 4096 }, { argv: ['sh', '-c', `echo "$$ $PPID" > ${join(dir, 'pids')}; exec sleep 1000`] })
    const deadline = Date.now() + 20_000
    while (!fs.existsSync(join(dir, 'pids')) || fs.readFileSync(join(dir, 'pids'), 'utf8').trim() === '') {
      if (Date.now() > deadline) throw new Error('the step never started')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const [step, helper] = fs.readFileSync(join(dir, 'pids'), 'utf8').trim().split(' ').map(Number) as [number, number]
    process.kill(helper, 'SIGKILL')
    const out = await running
    expect(out).toMatchObject({ exitCode: null, aborted: false, timedOut: false })
    expect(out.output).toMatch(/spawner process exited \(SIGKILL\)/)
    for (let i = 0; i < 100 && processAlive(step); i++) await new Promise((resolve) => setTimeout(resolve, 50))
    expect(processAlive(step)).toBe(false)
    const again = await spawner.step({ command: ['true'], cwd: dir, env: { PATH: '/usr/bin:/bin' }, timeoutMs: 10_000, maxOutputBytes: 4096 }, { argv: ['true'] })
    expect(again.exitCode).toBe(0)
    spawner.close()
  })

  it('a step that spawn refuses is thrown here as a SpawnerError, and the spawner process goes on', async () => {
    const spawner = new Spawner()
    const step = { command: ['x'], cwd: tempDir(), env: { PATH: '/usr/bin:/bin' }, timeoutMs: 10_000, maxOutputBytes: 4096 }
    await expect(spawner.step(step, { argv: ['sh\0'] })).rejects.toMatchObject({ name: 'SpawnerError', message: expect.stringContaining('null bytes') })
    expect((await spawner.step(step, { argv: ['true'] })).exitCode).toBe(0)
    spawner.close()
  })
})

const bwrap = selectBackend({ sandbox: 'bwrap' })

/** Children this process itself starts while `run` runs (the runner's named imports of spawn follow the patched builtin). */
async function spawnsHere<T> (run: () => Promise<T>): Promise<{ value: T, spawns: string[] }> {
  const childProcess = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process')
  const original = childProcess.spawn
  const spawns: string[] = []
  Object.assign(childProcess, { spawn: function (this: unknown, ...args: Parameters<typeof original>) { spawns.push(String(args[0]).split('/').at(-1) ?? ''); return original.apply(this, args) } })
  syncBuiltinESMExports()
  try {
    return { value: await run(), spawns }
  } finally {
    Object.assign(childProcess, { spawn: original })
    syncBuiltinESMExports()
  }
}

describe.skipIf(bwrap === undefined)('spawner process with bubblewrap', () => {
  it('runs a whole sandboxed trial, seccomp filter and status pipe included, to the same metric', async () => {
    const trial = async (): Promise<unknown> => {
      const r = await runTrial({ causeDir: TOY_DIR, manifest: toyManifest(), seed: 3, backend: bwrap as NonNullable<typeof bwrap>, dataRoot: tempDir('ar-spawner-data-') })
      if (!r.ok) throw new Error(`${r.reason}: ${r.message}`)
      return r.metric
    }
    const here = await spawnsHere(trial)
    expect(here.spawns).toEqual(expect.arrayContaining(['bwrap', 'nsenter', 'sh']))
    await useSpawner().ready()
    const there = await spawnsHere(trial)
    expect(there.value).toBe(here.value)
    // Only the namespace holder of the trial's capped disk, which dies with the runner (--die-with-parent).
    expect(there.spawns).toEqual(['bwrap'])
    expect(here.spawns.length).toBeGreaterThan(3)
  })
})
