import { describe, expect, it } from 'vitest'
import { containerArgs, containerBackend, probeBwrap, SandboxUnavailableError, selectBackend, type StepSpec } from '@autoresearch/runner'
import { tempDir } from './helpers.ts'

const bwrapWorks = (() => { try { selectBackend({ sandbox: 'bwrap' }); return true } catch { return false } })()
const dockerAnswers = (() => { try { selectBackend({ sandbox: 'docker', image: 'x' }); return true } catch { return false } })()

describe('selectBackend', () => {
  it.skipIf(!bwrapWorks)('picks bubblewrap by default on Linux', () => {
    expect(selectBackend().name).toBe('bwrap')
  })

  it('refuses without a sandbox, saying how to install one', () => {
    for (const opts of [{ sandbox: 'bwrap' as const, bwrap: '/nonexistent/bwrap' }, { bwrap: '/nonexistent/bwrap' }]) {
      let error: unknown
      try {
        selectBackend(opts)
      } catch (err) {
        error = err
      }
      expect(error).toBeInstanceOf(SandboxUnavailableError)
      expect((error as Error).name).toBe('SandboxUnavailableError')
      expect((error as Error).message).toContain('apt-get install bubblewrap')
      expect((error as Error).message).toContain('--sandbox none')
    }
  })

  it('reports a bubblewrap that cannot create its namespaces', () => {
    expect(probeBwrap({ bwrap: '/bin/false', prlimit: '/usr/bin/prlimit', setpriv: '/usr/bin/setpriv' })).toMatch(/cannot create its sandbox/)
    expect(() => selectBackend({ bwrap: '/bin/false' })).toThrow(SandboxUnavailableError)
  })

  it('runs unsandboxed only when asked, and then warns on every step', async () => {
    const warnings: string[] = []
    const fallback = selectBackend({ bwrap: '/nonexistent/bwrap', allowUnsandboxed: true, warn: (m) => warnings.push(m) })
    expect(fallback.name).toBe('none')
    const none = selectBackend({ sandbox: 'none', warn: (m) => warnings.push(m) })
    const spec: StepSpec = { command: ['true'], cwd: tempDir(), env: { PATH: '/usr/bin:/bin' }, timeoutMs: 10_000, writable: [], readOnly: [], maxOutputBytes: 1024 }
    await none.run(spec)
    await none.run(spec)
    await fallback.run(spec)
    expect(warnings).toHaveLength(3)
    for (const w of warnings) expect(w).toMatch(/WITHOUT A SANDBOX/)
  })

  it('needs an image for docker and podman', () => {
    expect(() => selectBackend({ sandbox: 'docker' })).toThrow(/needs an image/)
    expect(() => selectBackend({ sandbox: 'podman' })).toThrow(/needs an image/)
  })

  it.skipIf(dockerAnswers)('says so when the docker engine does not answer', () => {
    expect(() => selectBackend({ sandbox: 'docker', image: 'python:3.12-slim' })).toThrow(SandboxUnavailableError)
    expect(() => selectBackend({ sandbox: 'docker', image: 'python:3.12-slim' })).toThrow(/docker/)
  })
})

describe('docker/podman command line', () => {
  const spec: StepSpec = {
    command: ['python3', 'train.py'], cwd: '/scratch/train', env: { PATH: '/usr/bin:/bin', AUTORESEARCH_OUT: '/scratch/out' },
    timeoutMs: 60_000, writable: ['/scratch/train', '/scratch/out'], readOnly: ['/cache/data-1'], tmpDir: '/scratch/tmp', maxOutputBytes: 1024,
    limits: { cpuSeconds: 120, memoryBytes: 1 << 30, processes: 256, fileBytes: 1 << 20 }, devices: []
  }
  const ctx = { engine: 'docker' as const, program: 'docker', image: 'python:3.12-slim', name: 'autoresearch-test', user: '65534:65534' }
  const value = (argv: string[], flag: string): string[] => argv.flatMap((a, i) => (a === flag ? [argv[i + 1] as string] : []))

  it('has no network, a read-only root, no capabilities, and the limits', () => {
    const argv = containerArgs(spec, ctx)
    expect(argv.slice(0, 3)).toEqual(['docker', 'run', '--rm'])
    expect(value(argv, '--network')).toEqual(['none'])
    expect(argv).toEqual(expect.arrayContaining(['--read-only', '--init', '--security-opt', 'no-new-privileges']))
    expect(value(argv, '--cap-drop')).toEqual(['ALL'])
    expect(value(argv, '--user')).toEqual(['65534:65534'])
    expect(value(argv, '--pids-limit')).toEqual(['256'])
    expect(value(argv, '--memory')).toEqual([String(1 << 30)])
    expect(value(argv, '--ulimit')).toEqual(expect.arrayContaining(['cpu=120:125', `fsize=${1 << 20}:${1 << 20}`, 'core=0:0']))
    expect(value(argv, '--name')).toEqual(['autoresearch-test'])
  })

  it('mounts only the step\'s directories, data read-only, under /autoresearch', () => {
    const argv = containerArgs(spec, ctx)
    expect(value(argv, '--mount')).toEqual([
      'type=bind,source=/scratch/tmp,target=/tmp',
      'type=bind,source=/cache/data-1,target=/autoresearch/data-1,readonly',
      'type=bind,source=/scratch/train,target=/autoresearch/train',
      'type=bind,source=/scratch/out,target=/autoresearch/out'
    ])
    expect(value(argv, '--workdir')).toEqual(['/autoresearch/train'])
    expect(value(argv, '--env')).toContain('AUTORESEARCH_OUT=/autoresearch/out')
    expect(argv.slice(-4)).toEqual(['--entrypoint', 'python3', 'python:3.12-slim', 'train.py'])
  })

  it('never gives a step the engine\'s network, and passes GPUs', async () => {
    expect(value(containerArgs({ ...spec, network: true }, ctx), '--network')).toEqual(['none'])
    // A step that asks for the network is refused before the engine runs (the program does not exist).
    const refused = await containerBackend('docker', 'python:3.12-slim', '/nonexistent/docker').run({ ...spec, network: true })
    expect(refused.sandboxError).toMatch(/prepare\.network is given only by the bwrap sandbox/)
    expect(value(containerArgs({ ...spec, devices: ['/dev/nvidia0'] }, ctx), '--gpus')).toEqual(['all'])
    expect(value(containerArgs({ ...spec, devices: ['/dev/nvidia0'] }, { ...ctx, engine: 'podman', program: 'podman' }), '--device')).toEqual(['nvidia.com/gpu=all'])
  })
})
