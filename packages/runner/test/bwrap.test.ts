import * as fs from 'node:fs'
import * as net from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { bwrapArgs, bwrapBackend, bwrapHelpers, runTrial, seccompFilter, selectBackend, type BwrapContext, type BwrapHelpers, type SandboxBackend, type StepSpec } from '@autoresearch/runner'
import { removeTempDirs, tempDir, TOY_DIR, toyManifest, toyVariant, trialProcesses } from './helpers.ts'

afterEach(removeTempDirs)

const ctx = (root: boolean): BwrapContext => ({ bwrap: '/usr/bin/bwrap', prlimit: '/usr/bin/prlimit', setpriv: '/usr/bin/setpriv', root, uid: root ? 3_900_000_123 : 1000, expose: [], disableUserns: !root })

function spec (extra: Partial<StepSpec> = {}): StepSpec {
  return {
    command: ['sh', '-c', 'true'], cwd: '/scratch/train', env: { PATH: '/usr/bin:/bin', AUTORESEARCH_OUT: '/scratch/out', AUTORESEARCH_DATA: '/cache/data-1' },
    timeoutMs: 30_000, writable: ['/scratch/train', '/scratch/out'], readOnly: ['/cache/data-1'], tmpDir: '/scratch/tmp', maxOutputBytes: 1 << 20,
    limits: { cpuSeconds: 60, memoryBytes: 1 << 30, processes: 64, fileBytes: 1 << 20 }, devices: [], ...extra
  }
}

const pairs = (argv: string[], flag: string): string[][] => argv.flatMap((a, i) => (a === flag ? [argv.slice(i + 1, i + 3)] : []))

describe('bwrap command line', () => {
  it('isolates network, pids and mounts, and shows the step its directories under /autoresearch', () => {
    for (const root of [true, false]) {
      const { argv, env } = bwrapArgs(spec(), ctx(root))
      expect(argv).toContain('--die-with-parent')
      expect(argv).toContain(root ? '--unshare-net' : '--unshare-all')
      expect(argv).not.toContain('--share-net')
      expect(pairs(argv, '--ro-bind')).toContainEqual(['/cache/data-1', '/autoresearch/data-1'])
      expect(pairs(argv, '--bind')).toEqual(expect.arrayContaining([['/scratch/train', '/autoresearch/train'], ['/scratch/out', '/autoresearch/out'], ['/scratch/tmp', '/tmp']]))
      const mounted = [...pairs(argv, '--ro-bind'), ...pairs(argv, '--bind')].map(([src]) => src as string)
      for (const secretive of ['/', '/home', '/root', '/run', '/var', '/tmp', '/mnt']) expect(mounted).not.toContain(secretive)
      expect(argv[argv.indexOf('--chdir') + 1]).toBe('/autoresearch/train')
      expect(env.AUTORESEARCH_OUT).toBe('/autoresearch/out')
      expect(argv).toEqual(expect.arrayContaining(['--nproc=64:64', `--data=${1 << 30}:${1 << 30}`, `--fsize=${1 << 20}:${1 << 20}`, '--core=0:0']))
      expect(argv.slice(-3)).toEqual(['sh', '-c', 'true'])
    }
  })

  it('drops root to a fresh uid inside, and keeps the namespace it starts in only for a step with network', () => {
    // That namespace is network.ts's own (slirp4netns), never the host's: see the test on this machine below.
    const { argv } = bwrapArgs(spec({ network: true }), ctx(true))
    expect(argv).toEqual(expect.arrayContaining(['/usr/bin/setpriv', '--reuid=3900000123', '--regid=3900000123', '--clear-groups']))
    expect(argv).not.toContain('--unshare-net')
    expect(bwrapArgs(spec({ network: true }), ctx(false)).argv).toContain('--share-net')
  })

  it('loads a seccomp filter for this machine', () => {
    expect(bwrapArgs(spec(), { ...ctx(true), seccompFd: 3 }).argv).toEqual(expect.arrayContaining(['--seccomp', '3']))
    const filter = seccompFilter('x64')
    expect(filter !== undefined && filter.length % 8).toBe(0)
    expect(seccompFilter('s390x')).toBeUndefined()
  })

  it('passes GPU device nodes through', () => {
    const { argv } = bwrapArgs(spec({ devices: ['/dev/nvidia0', '/dev/nvidiactl', '/dev/nvidia-uvm'] }), ctx(true))
    expect(pairs(argv, '--dev-bind-try')).toEqual([['/dev/nvidia0', '/dev/nvidia0'], ['/dev/nvidiactl', '/dev/nvidiactl'], ['/dev/nvidia-uvm', '/dev/nvidia-uvm']])
    expect(pairs(argv, '--ro-bind-try')).toContainEqual(['/sys', '/sys'])
  })
})

let backend: SandboxBackend | undefined
try {
  backend = selectBackend({ sandbox: 'bwrap' })
} catch {}

describe.skipIf(backend === undefined)('bwrap backend on this machine', () => {
  const run = async (command: string[], extra: Partial<StepSpec> = {}): Promise<Awaited<ReturnType<SandboxBackend['run']>>> => {
    const dir = tempDir('ar-bwrap-')
    const [work, out, tmp] = ['work', 'out', 'tmp'].map((d) => join(dir, d)) as [string, string, string]
    for (const d of [work, out, tmp]) fs.mkdirSync(d)
    return await (backend as SandboxBackend).run({
      command, cwd: work, env: { PATH: '/usr/bin:/bin', AUTORESEARCH_OUT: out }, timeoutMs: 30_000, writable: [work, out], readOnly: [], tmpDir: tmp,
      maxOutputBytes: 1 << 20, limits: { cpuSeconds: 60, memoryBytes: 1 << 30, processes: 64, fileBytes: 1 << 20 }, ...extra
    })
  }

  it('shows only the system and the step\'s own directories', async () => {
    const out = await run(['sh', '-c', 'ls -A /; echo ---; ls -A /autoresearch'])
    expect(out.exitCode).toBe(0)
    const [top, mine] = out.output.split('---\n').map((part) => part.trim().split('\n').sort())
    for (const name of top as string[]) expect(['autoresearch', 'bin', 'dev', 'etc', 'lib', 'lib32', 'lib64', 'libx32', 'nix', 'opt', 'proc', 'sbin', 'tmp', 'usr']).toContain(name)
    expect(mine).toEqual(['out', 'work'])
  })

  it('runs without privileges, and hands the files it wrote back to the runner', async () => {
    const dir = tempDir('ar-bwrap-')
    fs.mkdirSync(join(dir, 'w'))
    const out = await (backend as SandboxBackend).run({
      command: ['sh', '-c', 'id -u; grep -E "^Cap(Eff|Prm)" /proc/self/status; echo hi > made'], cwd: join(dir, 'w'), env: { PATH: '/usr/bin:/bin' },
      timeoutMs: 30_000, writable: [join(dir, 'w')], readOnly: [], maxOutputBytes: 1 << 20
    })
    expect(out.exitCode).toBe(0)
    expect(out.output.split('\n')[0]).not.toBe('0')
    expect(out.output).toMatch(/CapEff:\s+0+\n/)
    expect(out.output).toMatch(/CapPrm:\s+0+\n/)
    expect(fs.statSync(join(dir, 'w', 'made')).uid).toBe(process.getuid?.())
  })

  it('kills what a step left running, and a step past its time limit with its whole tree', async () => {
    const scratch = tempDir('ar-bwrap-')
    const env = { PATH: '/usr/bin:/bin', AUTORESEARCH_OUT: join(scratch, 'out') }
    const left = await run(['sh', '-c', 'setsid sleep 1000 & echo started'], { env })
    expect(left.exitCode).toBe(0)
    expect(trialProcesses(scratch)).toEqual([])
    const started = Date.now()
    const slow = await run(['sh', '-c', 'trap "" TERM; setsid sh -c "trap \\"\\" TERM; sleep 1000" & sleep 1000'], { env, timeoutMs: 1000 })
    expect(slow.timedOut).toBe(true)
    expect(Date.now() - started).toBeLessThan(20_000)
    expect(trialProcesses(scratch)).toEqual([])
  })

  it('stops a step when its signal aborts', async () => {
    const controller = new AbortController()
    const out = await run(['sh', '-c', 'echo ready; sleep 1000'], { signal: controller.signal, onLine: (l) => { if (l === 'ready') controller.abort() } })
    expect(out.aborted).toBe(true)
  })

  it('reaches the host\'s 127.0.0.1 in no step, not even one allowed the network (prepare)', async () => {
    const server = net.createServer((socket) => { socket.end('hello\n') })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const port = (server.address() as net.AddressInfo).port
      const probe = ['python3', '-c', `import socket; print(socket.create_connection(("127.0.0.1", ${port}), timeout=10).recv(10).decode().strip())`]
      const withNetwork = await run(probe, { network: true })
      expect(withNetwork.sandboxError, withNetwork.output).toBeUndefined()
      expect(withNetwork.output).not.toContain('hello')
      expect(withNetwork.output).toContain('Connection refused')
      const closed = await run(probe)
      expect(closed.exitCode).not.toBe(0)
      expect(closed.output).toContain('Connection refused')
    } finally {
      server.close()
    }
  })

  it('refuses nested user namespaces (seccomp), and keeps fork, threads and subprocesses working', async () => {
    const out = await run(['sh', '-c', 'unshare -U -r true && echo NESTED; python3 -c "import subprocess, threading; t = threading.Thread(target=print, args=(\'thread\',)); t.start(); t.join(); print(subprocess.run([\'echo\', \'child\'], capture_output=True, text=True).stdout.strip())"'])
    expect(out.output).not.toContain('NESTED')
    expect(out.output).toContain('Operation not permitted')
    expect(out.output).toContain('thread\nchild')
  })

  it('tells a sandbox that cannot start from a step that fails, whatever the step prints', async () => {
    const broken = bwrapBackend({ bwrap: (bwrapHelpers() as BwrapHelpers).bwrap, prlimit: '/nonexistent/prlimit', setpriv: '/usr/bin/setpriv' })
    const { dataRoot, scratchRoot } = { dataRoot: tempDir('ar-data-'), scratchRoot: tempDir('ar-scratch-') }
    const r = await runTrial({ causeDir: TOY_DIR, manifest: toyManifest(), seed: 1, dataRoot, scratchRoot, backend: broken })
    expect(!r.ok && r.reason).toBe('sandbox-unavailable')
    expect(!r.ok && r.message).toContain('/nonexistent/prlimit')
    const liar = toyVariant({ 'train.py': 'import sys\nprint("bwrap: Can\'t find source path /x: No such file or directory", file=sys.stderr)\nsys.exit(1)\n' })
    const lie = await runTrial({ causeDir: liar, manifest: toyManifest(), seed: 1, dataRoot, scratchRoot, backend })
    expect(!lie.ok && lie.reason).toBe('crash')
  })

  it('stops a file at the size limit', async () => {
    const killed = await run(['sh', '-c', 'head -c 4000000 /dev/zero > big'])
    expect(killed.signal).toBe('SIGXFSZ')
    // Python ignores SIGXFSZ: its write fails instead.
    const refused = await run(['python3', '-c', 'open("big", "wb").write(b"x" * (4 << 20))'])
    expect(refused.exitCode).not.toBe(0)
    expect(refused.output).toContain('File too large')
  })
})
