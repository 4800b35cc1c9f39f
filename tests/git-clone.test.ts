import { execFile, spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Identity } from '@autoresearch/protocol'
import { GIT_HTTP_DEFAULTS } from '../coordinator/src/git-http/request.ts'
import { createGitApp } from '../coordinator/src/git-http/routes.ts'
import { ROOT } from './processes.ts'
import { setConstant, TestNetwork } from './network.ts'

const NOISY = join(ROOT, 'tests', 'fixtures', 'noisy-cause')
const run = promisify(execFile)
const coordinatorCli = (args: string[]) => spawnSync(process.execPath, [resolve(ROOT, 'coordinator/bin/autoresearch-coordinator.js'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })
// Async: the coordinator answers in this process, so a blocking git would wait on itself.
const git = async (cwd: string, ...args: string[]): Promise<string> => {
  const { stdout } = await run('git', args, { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } })
  return stdout.trim()
}
/** Objects in a repository, loose and packed. */
const objectCount = async (repo: string): Promise<number> => {
  const stats = Object.fromEntries((await git(repo, 'count-objects', '-v')).split('\n').map((l) => l.split(': ') as [string, string]))
  return Number(stats.count) + Number(stats['in-pack'])
}

describe('git clone and fetch from the coordinator with the real git client', () => {
  let net: TestNetwork
  let url: string
  let clone: string

  beforeAll(async () => {
    net = await TestNetwork.start(NOISY)
    url = `${net.running.httpUrl}/cause.git`
    clone = join(net.scratch, 'clone')
  })
  afterAll(async () => { await net?.stop() })

  const merge = async (quality: number): Promise<number> => {
    const seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', quality))
    await net.verifyAll()
    expect(net.state(seq)).toBe('merged')
    return seq
  }
  const statusBest = async (): Promise<string> => ((await (await fetch(`${net.running.httpUrl}/api/status`)).json()) as { best: { commit: string } }).best.commit

  it('clones the best with its history, fetches only what the next merge changed, and shows each verdict as a note', async () => {
    const initial = net.best
    const first = await merge(0.8)

    await git(net.scratch, 'clone', url, clone)
    const best = await statusBest()
    expect(best).not.toBe(initial)
    expect(await git(clone, 'rev-parse', 'HEAD')).toBe(best)
    expect(await git(clone, 'symbolic-ref', '--short', 'HEAD')).toBe('best')
    expect((await git(clone, 'log', '--format=%H')).split('\n')).toEqual([best, initial])
    expect(await git(clone, 'show', 'HEAD:train.py')).toMatch(/^QUALITY = 0\.8$/m)
    // Only the best and the notes are published.
    expect((await git(clone, 'ls-remote', 'origin')).split('\n').map((l) => l.split('\t')[1]).sort()).toEqual(['HEAD', 'refs/heads/best', 'refs/notes/commits'])

    const second = await merge(0.6)
    const next = await statusBest()
    const before = await objectCount(clone)
    await git(clone, 'fetch', 'origin')
    expect(await git(clone, 'rev-parse', 'origin/best')).toBe(next)
    // Exactly the objects the new merge added (its commit, trees and train.py): nothing the clone had.
    const changed = (await git(net.running.coordinator.paths.gitdir, 'rev-list', '--objects', `${best}..${next}`)).split('\n').length
    expect(await objectCount(clone) - before).toBe(changed)
    expect(changed).toBeLessThan(before)

    await git(clone, 'fetch', 'origin', 'refs/notes/*:refs/notes/*')
    await git(clone, 'merge', '--ff-only', 'origin/best')
    const log = await git(clone, 'log', '--notes', '--format=%H%n%N')
    const verifier = net.verifierIdentity.publicKey
    for (const [seq, commit] of [[second, next], [first, best]] as const) {
      const note = await git(clone, 'notes', 'show', commit)
      expect(note).toContain(`Candidate: #${seq}`)
      expect(note).toMatch(/^Verified-gain: 0\.\d+/m)
      expect(note).toMatch(/^P-value: \d/m)
      expect(note).toMatch(/^Trials: 5 in 1 round/m)
      expect(note).toContain(`Verifier-key: ${verifier}`)
      expect(note).toContain(`Author-key: ${net.running.coordinator.store.candidate(seq)?.submitter}`)
      expect(log).toContain(`${commit}\n${note}`)
    }
    expect(await git(clone, 'notes', 'list', initial).catch(() => 'none')).toBe('none')
  })

  it('protocol v2 clones too', async () => {
    const v2 = join(net.scratch, 'clone-v2')
    await git(net.scratch, '-c', 'protocol.version=2', 'clone', url, v2)
    expect(await git(v2, 'rev-parse', 'HEAD')).toBe(await statusBest())
  })

  it('serves two clones at once from one address, within its share of the upload-pack slots', async () => {
    // A clone asks one request at a time, so two from 127.0.0.1 fit its share (GIT_HTTP_DEFAULTS.maxPerClient).
    expect(GIT_HTTP_DEFAULTS.maxPerClient).toBeGreaterThanOrEqual(2)
    expect(GIT_HTTP_DEFAULTS.maxPerClient).toBeLessThan(GIT_HTTP_DEFAULTS.maxConcurrent)
    const dirs = [join(net.scratch, 'clone-a'), join(net.scratch, 'clone-b')]
    await Promise.all(dirs.map(async (dir, i) => git(net.scratch, '-c', `protocol.version=${i + 1}`, 'clone', url, dir)))
    for (const dir of dirs) expect(await git(dir, 'rev-parse', 'HEAD')).toBe(await statusBest())
  })

  it('is read-only, bounds request bodies and refuses what git would not send', async () => {
    await expect(git(clone, 'push', 'origin', 'HEAD:refs/heads/mine')).rejects.toThrow(/403/)
    const refusal = await fetch(`${url}/info/refs?service=git-receive-pack`)
    expect(refusal.status).toBe(403)
    expect(await refusal.text()).toMatch(/read-only/)

    const post = async (body: Uint8Array, headers: Record<string, string> = {}): Promise<Response> =>
      fetch(`${url}/git-upload-pack`, { method: 'POST', body, headers: { 'Content-Type': 'application/x-git-upload-pack-request', ...headers } })
    const limit = GIT_HTTP_DEFAULTS.maxRequestBytes
    const tooLarge = await post(new Uint8Array(limit + 1))
    expect(tooLarge.status).toBe(413)
    expect(await tooLarge.text()).toContain(`${limit} bytes at most`)
    // A small gzip body that would grow past the limit stops at the limit.
    const bomb = await post(gzipSync(Buffer.alloc(limit + 1)), { 'Content-Encoding': 'gzip' })
    expect(bomb.status).toBe(413)
    const garbage = await post(gzipSync(Buffer.from('not a pkt-line')), { 'Content-Encoding': 'gzip' })
    expect(garbage.status).toBe(400)
    expect((await fetch(`${url}/HEAD`)).status).toBe(404)
  })

  it('stops an upload-pack that runs past its time, and says so', async () => {
    // A git that never answers, in place of the host's.
    const hung = join(net.scratch, 'hung-git')
    writeFileSync(hung, '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 })
    const app = createGitApp(net.running.coordinator.paths.gitdir, { git: () => hung, limits: { timeoutSeconds: 1 } })
    const started = Date.now()
    const res = await app.request('/info/refs?service=git-upload-pack')
    expect(res.status).toBe(504)
    expect(await res.text()).toMatch(/ran past 1 s and was stopped/)
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  it('writes a note lost in a crash again at start, points HEAD at the best, and marks a reverted merge in its note', async () => {
    const gitdir = net.running.coordinator.paths.gitdir
    const merged = net.best
    // As if the coordinator died between the merge and its note.
    await git(gitdir, 'update-ref', '-d', 'refs/notes/commits')
    // And a HEAD that names another branch (a repository imported whole, say) is pointed back at the best.
    await git(gitdir, 'symbolic-ref', 'HEAD', 'refs/heads/main')
    await net.restart()
    url = `${net.running.httpUrl}/cause.git`
    await git(clone, 'remote', 'set-url', 'origin', url)
    await git(clone, 'update-ref', '-d', 'refs/notes/commits')
    await git(clone, 'fetch', 'origin', '+refs/notes/*:refs/notes/*')
    expect(await git(clone, 'notes', 'show', merged)).toMatch(/^Verified-gain: /m)
    expect(await git(clone, 'ls-remote', '--symref', 'origin', 'HEAD')).toMatch(/^ref: refs\/heads\/best\tHEAD$/m)

    const revert = coordinatorCli(['revert', '--home', net.home])
    expect(revert.status, revert.stderr).toBe(0)
    await net.running.coordinator.serially(async () => { await net.running.coordinator.announceIfMoved() })
    await git(clone, 'fetch', 'origin', '+refs/heads/*:refs/remotes/origin/*', '+refs/notes/*:refs/notes/*')
    expect(await git(clone, 'rev-parse', 'origin/best')).toBe(await statusBest())
    expect(await git(clone, 'rev-parse', 'origin/best')).not.toBe(merged)
    expect(await git(clone, 'notes', 'show', merged)).toMatch(/^Reverted-at: \d{4}-/m)
  })
})
