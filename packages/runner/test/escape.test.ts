import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as net from 'node:net'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { PASSED_ENV, runTrial, selectBackend, type SandboxBackend, type SandboxLimits, type TrialResult } from '@autoresearch/runner'
import { killProcesses, removeTempDirs, tempDir, TOY_DIR, toyManifest, toyTrain, toyVariant, trialProcesses } from './helpers.ts'

/**
 * Real escape attempts from a candidate's train.py, run through the runner. Every attempt
 * runs on bubblewrap, where all must be stopped, and on the none backend, which stops only
 * a few: the table below says which, so a sandbox that does nothing cannot pass.
 *
 * Over 300 lines on purpose: the table of attempts is the threat model read in one place,
 * and splitting it would hide which attempts the none backend also stops.
 */

// Each line: does the none backend (a bare child process) stop this attempt too?
const NONE_STOPS: Record<string, boolean> = {
  'cannot reach a TCP port on 127.0.0.1': false,
  'cannot read a secret file in the runner\'s HOME': false,
  'sees no API key, HOME or SSH agent from the runner\'s environment, nor the result path': true,
  'cannot write outside its checkout and out dir': false,
  'cannot make evaluate follow a symlink to a secret': false,
  'cannot exceed the process limit with a fork bomb': false,
  'cannot allocate past the memory limit': false,
  'is killed at the time limit with every process it started': true,
  'cannot forge the result file, before or during evaluate': false,
  'cannot forge the metric by printing it': true
}

let bwrapProblem: string | null = null
try {
  selectBackend({ sandbox: 'bwrap' })
} catch (err) {
  bwrapProblem = (err as Error).message
}

describe('bubblewrap on this machine', () => {
  it('can create its namespaces (required in CI)', (ctx) => {
    if (bwrapProblem !== null && process.env.CI === undefined) {
      console.warn(`\n*** SANDBOX ESCAPE TESTS SKIPPED: ${bwrapProblem}\n`)
      ctx.skip()
    }
    expect(bwrapProblem, 'bubblewrap must work where the escape tests run').toBeNull()
  })
})

interface Ctx {
  backend: SandboxBackend
  dataRoot: string
  scratchRoot: string
  secret: string
  secretPath: string
  home: string
  apiKey: string
  lines: string[]
  honest: number
}

const SAVED_ENV = ['HOME', 'OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'SSH_AUTH_SOCK', 'AWS_SECRET_ACCESS_KEY']

for (const kind of ['bwrap', 'none'] as const) {
  const skip = kind === 'bwrap' && bwrapProblem !== null
  describe.skipIf(skip)(`escape attempts on the ${kind} backend`, () => {
    const ctx = {} as Ctx
    const saved: Record<string, string | undefined> = {}

    beforeAll(async () => {
      ctx.backend = selectBackend({ sandbox: kind, warn: () => {} })
      const r = await runTrial({ causeDir: TOY_DIR, manifest: toyManifest(), seed: 3, dataRoot: tempDir('ar-data-'), backend: ctx.backend })
      if (!r.ok) throw new Error(`the honest toy run fails on ${kind}: ${r.message}\n${r.logTail}`)
      ctx.honest = r.metric
    })

    beforeEach(() => {
      for (const key of SAVED_ENV) saved[key] = process.env[key]
      ctx.dataRoot = tempDir('ar-data-')
      ctx.scratchRoot = tempDir('ar-scratch-')
      // A world-readable secret: only the sandbox's view of the filesystem may hide it, not permissions.
      ctx.home = tempDir('ar-home-')
      fs.chmodSync(ctx.home, 0o755)
      ctx.secret = `secret-${randomBytes(12).toString('hex')}`
      fs.mkdirSync(join(ctx.home, '.ssh'), { mode: 0o755 })
      ctx.secretPath = join(ctx.home, '.ssh', 'id_ed25519')
      fs.writeFileSync(ctx.secretPath, ctx.secret, { mode: 0o644 })
      ctx.apiKey = `sk-test-${randomBytes(12).toString('hex')}`
      process.env.HOME = ctx.home
      process.env.OPENAI_API_KEY = ctx.apiKey
      process.env.ANTHROPIC_API_KEY = ctx.apiKey
      process.env.AWS_SECRET_ACCESS_KEY = ctx.apiKey
      process.env.SSH_AUTH_SOCK = join(ctx.home, 'agent.sock')
      ctx.lines = []
    })

    afterEach(() => {
      for (const key of SAVED_ENV) {
        if (saved[key] === undefined) delete process.env[key]
        else process.env[key] = saved[key]
      }
      // What a failed expectation left running must not leak into the next test.
      killProcesses(trialProcesses(ctx.scratchRoot).map((p) => p.pid))
    })
    afterAll(removeTempDirs)

    const trial = async (files: Record<string, string>, opts: { limits?: Partial<SandboxLimits>, trainTimeout?: number } = {}): Promise<TrialResult> => {
      const manifest = toyManifest()
      if (opts.trainTimeout !== undefined) manifest.train.timeoutSeconds = opts.trainTimeout
      return await runTrial({
        causeDir: toyVariant(files), manifest, seed: 3, dataRoot: ctx.dataRoot, scratchRoot: ctx.scratchRoot,
        backend: ctx.backend, limits: opts.limits, onLine: (_phase, line) => ctx.lines.push(line)
      })
    }
    const failed = (r: TrialResult, reason: string): void => {
      expect(r.ok, r.logTail).toBe(false)
      expect(!r.ok && r.reason, r.logTail).toBe(reason)
    }
    const noLeftovers = (): void => { expect(trialProcesses(ctx.scratchRoot)).toEqual([]) }
    const leaked = (...secrets: string[]): string[] => secrets.filter((s) => ctx.lines.some((l) => l.includes(s)))

    // SHOW_NONE_FAILURES=1 runs the none backend's expected failures as plain tests, to read why each fails.
    const attempt = (name: string, body: () => Promise<void>): void => {
      if (!(name in NONE_STOPS)) throw new Error(`"${name}" is missing from NONE_STOPS`)
      if (kind === 'none' && NONE_STOPS[name] === false && process.env.SHOW_NONE_FAILURES === undefined) it.fails(name, body)
      else it(name, body)
    }

    attempt('cannot reach a TCP port on 127.0.0.1', async () => {
      const connections: string[] = []
      const server = net.createServer((socket) => { connections.push('connected'); socket.destroy() })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      try {
        const port = (server.address() as net.AddressInfo).port
        const r = await trial({
          'train.py': `import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", ${port}), timeout=10)
    s.sendall(b"leak")
    s.close()
    print("connected to the host", flush=True)
except OSError as e:
    sys.exit(f"network blocked: {e}")
`
        })
        await new Promise((resolve) => setTimeout(resolve, 200))
        expect(connections).toEqual([])
        failed(r, 'sandbox-violation')
        noLeftovers()
      } finally {
        server.close()
      }
    })

    attempt('cannot read a secret file in the runner\'s HOME', async () => {
      const r = await trial({
        'train.py': `import sys
try:
    print("LOOT:" + open(${JSON.stringify(ctx.secretPath)}).read(), flush=True)
except OSError as e:
    sys.exit(f"secret hidden: {e}")
`
      })
      expect(leaked(ctx.secret)).toEqual([])
      expect(r.logTail).not.toContain(ctx.secret)
      failed(r, 'crash')
      expect(r.logTail).toContain('secret hidden')
      noLeftovers()
    })

    attempt('sees no API key, HOME or SSH agent from the runner\'s environment, nor the result path', async () => {
      const r = await trial({ 'train.py': `import json, os\nprint("ENV:" + json.dumps(dict(os.environ)), flush=True)\n${toyTrain()}` })
      expect(r.ok ? r.metric : r.logTail).toBe(ctx.honest)
      const envLine = ctx.lines.find((l) => l.startsWith('ENV:'))
      expect(envLine).toBeDefined()
      const env = JSON.parse((envLine as string).slice(4)) as Record<string, string>
      // The work budget the toy cause declares (train.workBudget), and never the held-out directory.
      const allowed = new Set(['PATH', 'HOME', 'LANG', 'PYTHONDONTWRITEBYTECODE', 'PYTHONHASHSEED', 'AUTORESEARCH_SEED', 'AUTORESEARCH_DATA', 'AUTORESEARCH_OUT', 'AUTORESEARCH_WORK_BUDGET', 'AUTORESEARCH_WORK_UNIT', ...PASSED_ENV])
      // PWD comes from bwrap's --chdir; SHLVL, _ and PYENV_* from an interpreter shim (pyenv), not from the runner.
      const added = (k: string): boolean => ['PWD', 'SHLVL', '_'].includes(k) || /^_?PYENV_/.test(k)
      expect(Object.keys(env).filter((k) => !allowed.has(k) && !added(k))).toEqual([])
      expect(env.AUTORESEARCH_RESULT).toBeUndefined()
      expect(env.AUTORESEARCH_HELDOUT).toBeUndefined()
      expect(env.HOME).not.toBe(ctx.home)
      expect(leaked(ctx.apiKey, ctx.home)).toEqual([])
      noLeftovers()
    })

    attempt('cannot write outside its checkout and out dir', async () => {
      const outside = tempDir('ar-outside-')
      fs.chmodSync(outside, 0o777)
      const r = await trial({
        'train.py': `import os, sys
targets = [${JSON.stringify(join(outside, 'pwned'))}, ${JSON.stringify(join(ctx.home, 'pwned'))}, os.path.join(os.environ["AUTORESEARCH_DATA"], "poison")]
wrote = []
for path in targets:
    try:
        with open(path, "w") as f:
            f.write("pwned")
        wrote.append(path)
    except OSError as e:
        print(f"blocked: {e}", flush=True)
sys.exit(f"wrote outside: {wrote}" if wrote else "every write outside was refused")
`
      })
      expect(fs.readdirSync(outside)).toEqual([])
      expect(fs.existsSync(join(ctx.home, 'pwned'))).toBe(false)
      for (const data of fs.readdirSync(ctx.dataRoot)) expect(fs.readdirSync(join(ctx.dataRoot, data))).not.toContain('poison')
      failed(r, 'sandbox-violation')
      noLeftovers()
    })

    attempt('cannot make evaluate follow a symlink to a secret', async () => {
      // The cause's own (protected) evaluate trusts its artifact a little too much.
      const evaluate = `import json, os
notes = open(os.path.join(os.environ["AUTORESEARCH_OUT"], "notes.txt")).read()
print("NOTES:" + notes, flush=True)
json.dump({"metric": 1.0, "notes": notes}, open(os.environ["AUTORESEARCH_RESULT"], "w"))
`
      const r = await trial({
        'evaluate.py': evaluate,
        'train.py': `import os
os.symlink(${JSON.stringify(ctx.secretPath)}, os.path.join(os.environ["AUTORESEARCH_OUT"], "notes.txt"))
os.symlink(${JSON.stringify(ctx.secretPath)}, "leak")
print("planted", flush=True)
`
      })
      expect(leaked(ctx.secret)).toEqual([])
      expect(JSON.stringify(r)).not.toContain(ctx.secret)
      failed(r, 'crash')
      noLeftovers()
    })

    attempt('cannot exceed the process limit with a fork bomb', async () => {
      // Bounded by the script itself as well, so that the none backend survives it.
      const r = await trial({
        'train.py': `import os, sys, time
n = 0
try:
    while n < 150:
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        n += 1
except OSError as e:
    sys.exit(f"fork refused after {n} children: {e}")
sys.exit(f"forked all {n} children: no process limit")
`
      }, { limits: { processes: 32 } })
      expect(ctx.lines.some((l) => l.includes('fork refused'))).toBe(true)
      failed(r, 'sandbox-violation')
      noLeftovers()
    })

    attempt('cannot allocate past the memory limit', async () => {
      const r = await trial({ 'train.py': 'import sys\nblock = bytearray(1 << 30)\nsys.exit("allocated 1 GiB past the limit")\n' }, { limits: { memoryBytes: 256 * 1024 * 1024 } })
      failed(r, 'memory')
      noLeftovers()
    })

    attempt('is killed at the time limit with every process it started', async () => {
      const r = await trial({
        'train.py': `import subprocess, sys, time
# A child in its own session, deaf to SIGTERM: a process-group kill misses it.
subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"], start_new_session=True)
print("sleeping", flush=True)
time.sleep(60)
`
      }, { trainTimeout: 3 })
      failed(r, 'timeout')
      expect(r.durationMs).toBeLessThan(50_000)
      noLeftovers()
    })

    attempt('cannot forge the result file, before or during evaluate', async () => {
      const attack = `import json, os, subprocess, sys
forged = json.dumps({"metric": 1e-9})
out = os.environ["AUTORESEARCH_OUT"]
parent = os.path.dirname(out)
for path in [os.path.join(out, "result.json"), "result.json", "/tmp/result.json", os.path.join(parent, "result.json")]:
    try:
        with open(path, "w") as f:
            f.write(forged)
    except OSError as e:
        print(f"cannot plant {path}: {e}", flush=True)
# A daemon in its own session that rewrites any result.json that appears next to the out dir.
daemon = """
import glob, os, sys, time
parent, forged = sys.argv[1], sys.argv[2]
end = time.time() + 30
while time.time() < end:
    for path in glob.glob(os.path.join(parent, "*", "result.json")):
        try:
            with open(path + ".f", "w") as f:
                f.write(forged)
            os.replace(path + ".f", path)
        except OSError:
            pass
    time.sleep(0.002)
"""
subprocess.Popen([sys.executable, "-c", daemon, parent, forged], start_new_session=True)
`
      // On the none backend the attack really plants the host's /tmp/result.json: put back what was there.
      const planted = '/tmp/result.json'
      const before = fs.existsSync(planted) ? fs.readFileSync(planted) : null
      try {
        const r = await trial({ 'train.py': `${attack}\n${toyTrain()}` })
        expect(r.ok ? r.metric : r.logTail).toBe(ctx.honest)
        noLeftovers()
      } finally {
        const after = fs.existsSync(planted) ? fs.readFileSync(planted) : null
        if (after !== null && before === null) fs.rmSync(planted, { force: true })
        else if (after !== null && before !== null && !after.equals(before)) fs.writeFileSync(planted, before)
      }
    })

    attempt('cannot forge the metric by printing it', async () => {
      const r = await trial({ 'train.py': `${toyTrain()}\nprint("val_mse: 0.000001")\nprint('{"metric": 1e-06}')\n` })
      expect(r.ok ? r.metric : r.logTail).toBe(ctx.honest)
      noLeftovers()
    })
  })
}
