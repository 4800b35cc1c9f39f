import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Identity, readFileAt } from '@autoresearch/protocol'
import { homePaths } from 'autoresearch-coordinator'
import { setConstant, TestNetwork } from './network.ts'
import { ROOT, startBin, type Proc } from './processes.ts'

const COORDINATOR = 'coordinator/bin/autoresearch-coordinator.js'
const WORKER = 'worker/bin/autoresearch-worker.js'
const TOY = join(ROOT, 'examples', 'toy-regression')

/** Runs the coordinator's CLI without blocking this process (an in-process coordinator keeps serving meanwhile). */
async function cli (...args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [resolve(ROOT, COORDINATOR), ...args], { cwd: ROOT, env: { ...process.env, NODE_NO_WARNINGS: '1' } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await new Promise<number | null>((r) => child.once('close', r))
  return { code, stdout, stderr }
}

async function until<T> (what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

const scratch = fs.mkdtempSync(join(tmpdir(), 'ar-host-'))
afterAll(() => { fs.rmSync(scratch, { recursive: true, force: true }) })

describe('host commands', () => {
  it('candidates, status and verifiers work on a serving home; a verifier added or removed counts at once', async () => {
    const net = await TestNetwork.start(TOY)
    try {
      const worker = Identity.generate()
      const seq = await net.submitEdit(worker, setConstant('LEARNING_RATE', 0.05))
      const other = Identity.generate()
      const stranger = await net.verifier(other)
      await expect(stranger.runOnce()).rejects.toMatchObject({ name: 'NotAuthorizedError' })

      const added = await cli('verifiers', 'add', '--home', net.home, other.publicKey)
      expect(added.code).toBe(0)
      expect((await cli('verifiers', 'list', '--home', net.home)).stdout.trim().split('\n')).toEqual([net.verifierIdentity.publicKey, other.publicKey])
      // serve reads the allowlist again within 2 s; then the new key leases the queued candidate and verifies it.
      await until('the added verifier leases a job', async () => {
        try {
          return await stranger.runOnce() === 0 ? true : undefined
        } catch (err) {
          if ((err as Error).name === 'NotAuthorizedError') return undefined
          throw err
        }
      }, 20_000)
      // A near-tie's first round leaves the candidate queued for another round, which only this verifier runs.
      const state = await until('a verdict', async () => {
        const now = net.state(seq) ?? ''
        if (['merged', 'rejected'].includes(now)) return now
        if (now === 'queued') await stranger.runOnce()
        return undefined
      }, 120_000)

      const text = await cli('candidates', '--home', net.home)
      expect(text.code).toBe(0)
      const verdict = net.running.coordinator.store.candidate(seq)!.verdict!
      expect(text.stdout).toContain(`#${seq} ${state} from ${worker.publicKey.slice(0, 10)}`)
      expect(text.stdout).toContain(`seeds ${verdict.seeds.join(', ')}`)
      expect(text.stdout).toMatch(new RegExp(`trials ${verdict.trials.length}: seed ${verdict.trials[0]!.seed} `))
      // Round 1 is tested at 97.5 %, a near-tie's later round at 98.75 % (protocol's spending.ts).
      expect(text.stdout).toMatch(/test: mean improvement -?[\d.e-]+ \(sd [\d.e-]+, n \d+\) against minImprovement 0\.005: t .*, p [\d.e-]+ at (97\.5|98\.75)% confidence, (passed|not passed)/)

      const status = JSON.parse((await cli('status', '--home', net.home, '--json')).stdout) as { best: { commit: string }, queue: Record<string, number>, verifiers: Array<{ key: string, runs: number, hardware: string }>, silentVerifiers: string[], lastMerges: Array<{ kind: string }> }
      expect(status.best.commit).toBe(net.best)
      expect(status.queue[state]).toBe(1)
      expect(status.verifiers).toEqual([expect.objectContaining({ key: other.publicKey, runs: verdict.trials.length * 2, hardware: expect.any(String) })])
      expect(status.silentVerifiers).toEqual([net.verifierIdentity.publicKey])
      expect(status.lastMerges.at(-1)?.kind).toBe('initial')
      const statusText = (await cli('status', '--home', net.home)).stdout
      expect(statusText).toContain(`${other.publicKey.slice(0, 16)}  `)
      expect(statusText).toContain(`candidates queued 0`)

      expect((await cli('verifiers', 'remove', '--home', net.home, other.publicKey)).code).toBe(0)
      const last = await cli('verifiers', 'remove', '--home', net.home, net.verifierIdentity.publicKey)
      expect(last.code).toBe(1)
      expect(last.stderr).toContain('LastVerifierError')
      const bad = await cli('verifiers', 'add', '--home', net.home, 'not-a-key')
      expect(bad.stderr).toContain('InvalidVerifierKeyError')
      // Once serve has read the allowlist again, the removed key is refused its next lease.
      await until('serve drops the removed key', () => net.running.coordinator.config.verifiers.includes(other.publicKey) ? undefined : true, 10_000)
      await expect(stranger.runOnce()).rejects.toMatchObject({ name: 'NotAuthorizedError' })
    } finally {
      await net.stop()
    }
  }, 300_000)

  it('init --from a git repository keeps its history; init --new writes a cause that init takes', async () => {
    const repo = join(scratch, 'repo')
    fs.cpSync(TOY, repo, { recursive: true })
    const git = (...args: string[]): string => {
      const out = spawnSync('git', ['-C', repo, '-c', 'user.name=researcher', '-c', 'user.email=r@example.invalid', ...args], { encoding: 'utf8' })
      expect(out.status, out.stderr).toBe(0)
      return out.stdout.trim()
    }
    git('init', '-q', '-b', 'main')
    git('add', '-A')
    git('commit', '-qm', 'the cause as published')
    fs.appendFileSync(join(repo, 'program.md'), '\nA note added upstream.\n')
    git('commit', '-qam', 'a second upstream commit')
    const upstream = git('log', '--format=%H %s')

    const home = join(scratch, 'imported')
    const imported = await cli('init', '--home', home, '--from', repo)
    expect(imported.code, imported.stderr).toBe(0)
    expect(imported.stdout).toContain('(history imported)')
    const { gitdir } = homePaths(home)
    // The best is the repository's HEAD itself: its parents are the original commits.
    expect(spawnSync('git', ['--git-dir', gitdir, 'log', '--format=%H %s', 'refs/heads/best'], { encoding: 'utf8' }).stdout.trim()).toBe(upstream)
    const status = JSON.parse((await cli('status', '--home', home, '--json')).stdout) as { best: { commit: string } }
    expect(status.best.commit).toBe(upstream.split(' ')[0])

    // HEAD is checked as a directory is: a manifest that protects nothing worth editing is refused, and no home is left.
    const manifest = JSON.parse(fs.readFileSync(join(repo, 'autoresearch.json'), 'utf8')) as Record<string, unknown>
    fs.writeFileSync(join(repo, 'autoresearch.json'), JSON.stringify({ ...manifest, editable: ['missing.py'] }))
    git('commit', '-qam', 'a broken manifest')
    const broken = await cli('init', '--home', join(scratch, 'broken'), '--from', repo)
    expect(broken.code).toBe(1)
    expect(broken.stderr).toContain('InvalidManifestError')
    expect(broken.stderr).toContain('missing.py')
    expect(fs.existsSync(join(scratch, 'broken'))).toBe(false)

    const cause = join(scratch, 'new-cause')
    const made = await cli('init', '--new', 'my-cause', '--dir', cause, '--home', join(scratch, 'new-home'))
    expect(made.code, made.stderr).toBe(0)
    expect(fs.readdirSync(cause).sort()).toEqual(['autoresearch.json', 'evaluate.py', 'model.py', 'prepare.py', 'program.md', 'train.py'])
    expect(JSON.parse(fs.readFileSync(join(cause, 'autoresearch.json'), 'utf8'))).toMatchObject({ name: 'my-cause', editable: ['train.py'] })
    expect(fs.readFileSync(join(cause, 'program.md'), 'utf8')).toContain('top-level numeric constants')
    expect(fs.readFileSync(join(cause, 'train.py'), 'utf8')).toMatch(/^[A-Z_]+ = [\d.e-]+/m)
    expect(made.stdout).toMatch(/initialised my-cause\//)
    const again = await cli('init', '--new', 'my-cause', '--dir', cause)
    expect(again.stderr).toContain('ScaffoldExistsError')
  }, 120_000)

  it('serve listens on loopback unless told otherwise, and says so', async () => {
    const help = await cli('serve', '--help')
    expect(help.stdout).toContain('/ip4/127.0.0.1/tcp/4001')
    expect(help.stdout).not.toContain('"/ip4/0.0.0.0')
  })

  it('a program.md update reaches a running worker at its next step, as a host commit on the best', async () => {
    const home = join(scratch, 'home')
    expect((await cli('init', '--home', home, '--template', 'toy-regression')).code).toBe(0)
    const serve = startBin(COORDINATOR, ['serve', '--home', home, '--listen', '/ip4/127.0.0.1/tcp/0', '--http-port', '0', '--json'])
    let worker: Proc | undefined
    try {
      const ready = await serve.waitForJson<{ multiaddrs: string[], notes: string[] }>((e) => e.event === 'ready', 30_000)
      expect(ready.notes[0]).toContain('loopback only')
      // The agent proposes nothing and keeps each prompt it was given (the prompt carries program.md).
      const prompts = join(scratch, 'prompts')
      fs.mkdirSync(prompts)
      const agent = join(scratch, 'agent.sh')
      fs.writeFileSync(agent, `#!/bin/sh\nfor last; do :; done\nprintf '%s' "$last" > "${prompts}/$(date +%s%N).txt"\necho "nothing to change"\n`, { mode: 0o755 })
      worker = startBin(WORKER, ['--coordinator', ready.multiaddrs[0]!, '--agent', 'command', '--agent-command', agent, '--agent-sandbox', 'none', '--identity', join(scratch, 'worker.key'), '--state', join(scratch, 'worker'), '--json'])
      // The operator sees the worker connect: one line per peer, an event with --json.
      const connected = await serve.waitForJson<{ peer: string, address: string }>((e) => e.event === 'peer' && e.change === 'connected', 60_000)
      expect(connected.address).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+/)
      const promptsWith = (marker: string): boolean => fs.readdirSync(prompts).some((f) => fs.readFileSync(join(prompts, f), 'utf8').includes(marker))
      await until('a first prompt with the initial program', () => promptsWith('Goal: **lower `val_mse`**') ? true : undefined, 120_000)
      const marker = `PROGRAM-UPDATE-${Date.now()}`
      const file = join(scratch, 'program.md')
      fs.writeFileSync(file, `# toy-regression\n\n${marker}: try a learning-rate schedule before anything else.\n`)
      const { gitdir } = homePaths(home)
      const before = spawnSync('git', ['--git-dir', gitdir, 'rev-parse', 'refs/heads/best'], { encoding: 'utf8' }).stdout.trim()
      const update = await cli('program', '--home', home, file, '--message', 'focus the search')
      expect(update.code).toBe(0)

      const announced = await serve.waitForJson<{ commit: string }>((e) => e.event === 'best-changed' && e.kind === 'program', 10_000)
      await until('a prompt with the new program', () => promptsWith(marker) ? true : undefined, 60_000)
      // The update is an ordinary commit on the best: the real git shows it, with the old best as its parent.
      const log = spawnSync('git', ['--git-dir', gitdir, 'log', '--format=%H %P %s', '-2', 'refs/heads/best'], { encoding: 'utf8' }).stdout.trim().split('\n')
      expect(log[0]).toBe(`${announced.commit} ${before} program: update program.md`)
      expect(await readFileAt(gitdir, announced.commit, 'program.md')).toContain(marker)
      expect(await readFileAt(gitdir, announced.commit, 'train.py')).toBe(await readFileAt(gitdir, before, 'train.py'))
      const status = JSON.parse((await cli('status', '--home', home, '--json')).stdout) as { best: { commit: string, kind: string } }
      expect(status.best).toMatchObject({ commit: announced.commit, kind: 'program' })
      const again = await cli('program', '--home', home, file)
      expect(again.code).toBe(1)
      expect(again.stderr).toContain('ProgramUnchangedError')
    } finally {
      await worker?.stop()
      await serve.stop()
    }
  }, 240_000)
})
