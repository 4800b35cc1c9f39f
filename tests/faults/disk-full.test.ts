/**
 * The coordinator's disk fills up while it writes a submitted pack, or while it carries a
 * candidate onto a new best. The home lives on a small tmpfs in a private mount namespace
 * (`unshare`), so the disk is really full: the submitter gets StorageFullError, nothing
 * half-written stays, the coordinator keeps serving, and once space is freed the same
 * submission is taken; a candidate it could not carry is not lost (never `stale`) and is
 * carried once there is room.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { commitWithChanges, Identity, readFileAt, type CoordinatorClient, type Job } from '@autoresearch/protocol'
import { homePaths, initHome } from 'autoresearch-coordinator'
import { HARDWARE, submitterFor, type Submitter } from '../adversarial/arena.ts'
import { submitCommit, trialsFor } from '../adversarial/messages.ts'
import { rawPack } from '../adversarial/git-objects.ts'
import { ROOT } from '../processes.ts'

const TOY = join(ROOT, 'examples', 'toy-regression')
/** Room left on the tmpfs after the ballast: enough to start, far too little for the pack below. */
const FREE_BYTES = 160 * 1024

describe('a really full disk at the coordinator', () => {
  let child: ChildProcess
  let mount: string
  let address: string
  /** On the home's verifier allowlist, to lease and attest by hand. */
  const verifier = Identity.generate()
  const second = Identity.generate()
  /** The coordinator's view of the tmpfs (its mount namespace), reachable from outside. */
  const inside = (path: string): string => join(`/proc/${child.pid}/root`, mount, path)

  beforeAll(async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'ar-diskfull-'))
    await initHome(join(scratch, 'home'), TOY)
    const configPath = homePaths(join(scratch, 'home')).config
    const config = JSON.parse(fs.readFileSync(configPath, 'utf8')) as { verifiers: string[] }
    config.verifiers.push(verifier.publicKey, second.publicKey)
    fs.writeFileSync(configPath, JSON.stringify(config))
    mount = join(scratch, 'disk')
    fs.mkdirSync(mount)
    const serve = `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(ROOT, 'coordinator', 'bin', 'autoresearch-coordinator.js'))} serve --home "$M/home" --listen /ip4/127.0.0.1/tcp/0 --http-port 0 --json`
    const script = [
      'set -e',
      'mount -t tmpfs -o size=8m tmpfs "$M"',
      'cp -a "$S/home" "$M/home"',
      // Fill the disk, then give back a little: the coordinator starts on an almost full disk.
      'head -c 16m /dev/zero > "$M/ballast" 2>/dev/null || true',
      `truncate -s -${FREE_BYTES} "$M/ballast"`,
      serve
    ].join('\n')
    expect(spawnSync('unshare', ['-Urm', 'true']).status, 'this test needs unprivileged user and mount namespaces (unshare -Urm), as bubblewrap does').toBe(0)
    child = spawn('unshare', ['-Urm', 'sh', '-c', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, M: mount, S: scratch, NODE_NO_WARNINGS: '1' } })
    const lines: string[] = []
    createInterface({ input: child.stderr! }).on('line', (line) => lines.push(`stderr: ${line}`))
    address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`coordinator did not start:\n${lines.join('\n')}`)) }, 60_000)
      createInterface({ input: child.stdout! }).on('line', (line) => {
        lines.push(line)
        try {
          const event = JSON.parse(line) as { event?: string, multiaddrs?: string[] }
          if (event.event === 'ready') { clearTimeout(timer); resolve(event.multiaddrs?.[0] as string) }
        } catch {}
      })
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`coordinator exited (${code}):\n${lines.join('\n')}`)) })
    })
  })

  /** Fills the disk but for FREE_BYTES: room for the database's pages, not for a big carried train.py. */
  const fill = (): void => {
    const ballast = fs.openSync(inside('ballast'), 'w')
    const chunk = Buffer.alloc(1 << 20)
    try { for (;;) fs.writeSync(ballast, chunk) } catch (err) { expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC') }
    fs.ftruncateSync(ballast, Math.max(0, fs.fstatSync(ballast).size - FREE_BYTES))
    fs.closeSync(ballast)
  }

  /** A small change at the top of train.py and a big one at its end (incompressible, several times FREE_BYTES): they merge cleanly. */
  const twoChanges = async (submitter: Submitter): Promise<{ small: number, big: number }> => {
    const text = await readFileAt(submitter.gitdir, submitter.best, 'train.py') as string
    const small = await commitWithChanges(submitter.gitdir, submitter.best, { 'train.py': `# merged first ${randomBytes(4).toString('hex')}\n${text}` }, 'small')
    const big = await commitWithChanges(submitter.gitdir, submitter.best, { 'train.py': `${text}\n# ${randomBytes(600_000).toString('base64')}\n` }, 'big')
    return {
      small: (await submitCommit(submitter, small, { identity: Identity.generate(), claimedMetric: 0.01 })).receipt.candidateSeq,
      big: (await submitCommit(submitter, big, { identity: Identity.generate(), claimedMetric: 0.02 })).receipt.candidateSeq
    }
  }

  /** Attests `job` as a clear gain (or, `gain` 0, as none). */
  const pass = async (submitter: Submitter, client: CoordinatorClient, who: Identity, job: Job, gain = 0.07): Promise<string> => {
    const trials = trialsFor(job, 0, () => 0).map((t, i) => ({ ...t, baseline: 0.08 + i * 0.001, candidate: 0.08 - gain + i * 0.001 }))
    return (await client.attest(who, { causeId: submitter.causeId, jobId: job.jobId, candidate: job.candidate, baseline: job.baseline, trials, hardware: HARDWARE })).verdict.state
  }

  /**
   * With the disk full, a lease turn (which carries `seq` first) is refused and `seq` stays in
   * `state`; once there is room, the next lease carries it onto the best. Returns that job.
   */
  const carriedOnceThereIsRoom = async (submitter: Submitter, client: CoordinatorClient, who: Identity, seq: number, state: string): Promise<Job> => {
    const full = await client.lease(who, submitter.causeId, HARDWARE).then(() => undefined, (e: Error) => e)
    expect(full?.name, full?.message).toBe('StorageFullError')
    expect((await submitter.client.candidate(seq)).state).toBe(state)
    fs.rmSync(inside('ballast'))
    const carried = (await client.lease(who, submitter.causeId, HARDWARE)).job as Job
    const status = await submitter.client.candidate(seq)
    expect(status.state, status.reason ?? undefined).toBe('rebased')
    expect(carried.candidateSeq).toBe(status.rebasedAs)
    expect(carried.baseline).toBe((await submitter.client.info()).best.commit)
    return carried
  }

  afterAll(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
    }
  })

  it('refuses with StorageFullError, keeps nothing, stays up, and takes the submission once there is room', async () => {
    const submitter = await submitterFor(address)
    try {
      const identity = Identity.generate()
      const text = await readFileAt(submitter.gitdir, submitter.best, 'train.py') as string
      // Incompressible: the pack is several times the free space.
      const commit = await commitWithChanges(submitter.gitdir, submitter.best, { 'train.py': `${text}\n# ${randomBytes(600_000).toString('base64')}\n` }, 'big')
      const pack = await rawPack(submitter.gitdir, commit, submitter.best)
      expect(pack.byteLength).toBeGreaterThan(3 * FREE_BYTES)
      const objects = (): string[] => (fs.readdirSync(inside('home/cause.git/objects'), { recursive: true }) as string[]).filter((f) => f.includes('/')).sort()
      const objectsBefore = objects()

      const err = await submitCommit(submitter, commit, { identity, pack }).then(() => undefined, (e: Error) => e)
      expect(err?.name, err?.message).toBe('StorageFullError')
      expect(err?.message).toMatch(/out of disk space.*try again later/)
      expect(objects()).toEqual(objectsBefore)
      // Still serving: the best is published and no candidate was recorded.
      expect((await submitter.client.info()).best.commit).toBe(submitter.best)
      await expect(submitter.client.candidate(1)).rejects.toMatchObject({ name: 'UnknownCandidateError' })

      fs.rmSync(inside('ballast'))
      const { receipt } = await submitCommit(submitter, commit, { identity, pack })
      expect(receipt).toMatchObject({ candidateSeq: 1, candidate: commit, submitter: identity.publicKey })
      expect((await submitter.client.candidate(1)).state).toBe('queued')
    } finally {
      await submitter.stop()
    }
  })

  it('keeps a queued candidate it cannot carry onto the new best for lack of space, and carries it once there is room', async () => {
    fs.rmSync(inside('ballast'), { force: true })
    const submitter = await submitterFor(address)
    try {
      const { small, big } = await twoChanges(submitter)
      const client = await submitter.clientFor(verifier)
      const job = (await client.lease(verifier, submitter.causeId, HARDWARE)).job as Job
      expect(job.candidateSeq).toBe(small)
      expect(await pass(submitter, client, verifier, job)).toBe('accepted')
      expect((await submitter.client.candidate(big)).state).toBe('queued')

      fill()
      const carried = await carriedOnceThereIsRoom(submitter, client, verifier, big, 'queued')
      // Nothing left in flight for the next case.
      expect(await pass(submitter, client, verifier, carried, 0)).toBe('rejected')
    } finally {
      await submitter.stop()
    }
  })

  it('keeps a candidate that passed on a best that moved when it cannot carry it, telling its verifier the verdict', async () => {
    fs.rmSync(inside('ballast'), { force: true })
    const submitter = await submitterFor(address)
    try {
      const { small, big } = await twoChanges(submitter)
      const first = await submitter.clientFor(verifier)
      const other = await submitter.clientFor(second)
      const jobs = [(await first.lease(verifier, submitter.causeId, HARDWARE)).job as Job, (await other.lease(second, submitter.causeId, HARDWARE)).job as Job]
      expect(jobs.map((j) => j.candidateSeq)).toEqual([small, big])
      expect(await pass(submitter, first, verifier, jobs[0] as Job)).toBe('accepted')

      fill()
      // Its verdict is stored before the carry that fails: the verifier hears it, and the candidate waits.
      expect(await pass(submitter, other, second, jobs[1] as Job)).toBe('pending')
      expect((await submitter.client.candidate(big)).state).toBe('passed')
      await carriedOnceThereIsRoom(submitter, first, verifier, big, 'passed')
    } finally {
      await submitter.stop()
    }
  })
})
