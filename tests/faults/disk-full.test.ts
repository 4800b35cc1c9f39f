/**
 * The coordinator's disk fills up while it writes a submitted pack. The home lives
 * on a small tmpfs in a private mount namespace (`unshare`), so the disk is really
 * full: the submitter gets StorageFullError, nothing half-written stays, the
 * coordinator keeps serving, and once space is freed the same submission is taken.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { commitWithChanges, Identity, readFileAt } from '@autoresearch/protocol'
import { initHome } from 'autoresearch-coordinator'
import { submitterFor } from '../adversarial/arena.ts'
import { submitCommit } from '../adversarial/messages.ts'
import { rawPack } from '../adversarial/git-objects.ts'
import { ROOT } from '../processes.ts'

const TOY = join(ROOT, 'examples', 'toy-regression')
/** Room left on the tmpfs after the ballast: enough to start, far too little for the pack below. */
const FREE_BYTES = 160 * 1024

describe('disk full while writing a pack', () => {
  let child: ChildProcess
  let mount: string
  let address: string
  /** The coordinator's view of the tmpfs (its mount namespace), reachable from outside. */
  const inside = (path: string): string => join(`/proc/${child.pid}/root`, mount, path)

  beforeAll(async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'ar-diskfull-'))
    await initHome(join(scratch, 'home'), TOY)
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
})
