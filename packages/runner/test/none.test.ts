import { afterEach, describe, expect, it } from 'vitest'
import { noneBackend, type StepSpec } from '@autoresearch/runner'
import { processAlive, removeTempDirs, tempDir } from './helpers.ts'

afterEach(removeTempDirs)

function spec (command: string[], extra: Partial<StepSpec> = {}): StepSpec {
  return { command, cwd: tempDir(), env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeoutMs: 10_000, writable: [], readOnly: [], maxOutputBytes: 1 << 20, ...extra }
}

describe('none backend', () => {
  it('passes exactly the given environment', async () => {
    // env(1) itself, not a shell or an interpreter shim, which would add variables of their own.
    const out = await noneBackend().run(spec(['env'], { env: { PATH: process.env.PATH ?? '', ONLY_ME: '1' } }))
    expect(out.exitCode).toBe(0)
    expect(out.output.trim().split('\n').sort()).toEqual(['ONLY_ME=1', `PATH=${process.env.PATH ?? ''}`])
  })

  it('streams lines and reports the exit code', async () => {
    const lines: string[] = []
    const out = await noneBackend().run(spec(['sh', '-c', 'echo one; echo two >&2; printf three; exit 3'], { onLine: (l) => lines.push(l) }))
    expect(out.exitCode).toBe(3)
    expect(lines.sort()).toEqual(['one', 'three', 'two'])
    expect(out.timedOut).toBe(false)
  })

  it('caps the captured output, keeping its start and its end', async () => {
    const out = await noneBackend().run(spec(['python3', '-c', 'print("first"); print("x" * 100000); print("last")'], { maxOutputBytes: 1000 }))
    expect(out.output.startsWith('first')).toBe(true)
    expect(out.output.trimEnd().endsWith('last')).toBe(true)
    expect(out.output).toMatch(/bytes of output dropped/)
    expect(out.output.length).toBeLessThan(1200)
  })

  it('reports a command that cannot start as a failure', async () => {
    const out = await noneBackend().run(spec(['/nonexistent/binary']))
    expect(out.exitCode).not.toBe(0)
    expect(out.output).toContain('could not start')
  })

  it('kills what the step left running after it exited', async () => {
    const out = await noneBackend().run(spec(['sh', '-c', 'sleep 1000 & echo $!']))
    expect(out.exitCode).toBe(0)
    expect(processAlive(Number(out.output.trim()))).toBe(false)
  })

  it('kills a step past its time limit, escalating to SIGKILL', async () => {
    const started = Date.now()
    // sh ignores SIGTERM from its first instruction (a python3 behind a pyenv shim took 0.5 s
    // to install its handler, so the SIGTERM at 300 ms found none); exec keeps the ignore.
    const out = await noneBackend().run(spec(['sh', '-c', 'trap "" TERM; exec sleep 100'], { timeoutMs: 300 }))
    expect(out.timedOut).toBe(true)
    expect(out.signal).toBe('SIGKILL')
    expect(Date.now() - started).toBeLessThan(10_000)
  })
})
