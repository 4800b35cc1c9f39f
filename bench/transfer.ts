import { execFileSync, spawn } from 'node:child_process'
import * as fs from 'node:fs'
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import git from 'isomorphic-git'
import {
  commitWithChanges, CoordinatorClient, createNode, ensureBareRepo, exportPack, fetchRules, handleRequests, FetchRequest, importPack, objectsMissing, PROTOCOL
} from '@autoresearch/protocol'

const FILES = 200
const ROUNDS = 20

async function freePort (): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address() as { port: number }; s.close(() => resolve(port)) })
  })
}

/**
 * Fetching a new best after a one-file change: our libp2p pack fetch against native
 * `git fetch` from `git daemon`, both on loopback, same bare repository, same commits.
 */
export async function run (): Promise<Record<string, unknown>> {
  const scratch = mkdtempSync(join(tmpdir(), 'ar-bench-transfer-'))
  const served = join(scratch, 'served.git')
  await ensureBareRepo(served)
  // A cause-sized repository: FILES files of ~2 KiB, then ROUNDS one-file changes.
  const first = await (async () => {
    const files: Record<string, string> = {}
    for (let i = 0; i < FILES; i++) files[`src/module${i}.py`] = `# module ${i}\n${'x = 1\n'.repeat(300)}`
    const root = await git.writeCommit({ fs, gitdir: served, commit: { tree: await git.writeTree({ fs, gitdir: served, tree: [] }), parent: [], author: { name: 'b', email: 'b', timestamp: 1, timezoneOffset: 0 }, committer: { name: 'b', email: 'b', timestamp: 1, timezoneOffset: 0 }, message: 'empty\n' } })
    return commitWithChanges(served, root, files, 'initial')
  })()
  const commits = [first]
  for (let i = 0; i < ROUNDS; i++) commits.push(await commitWithChanges(served, commits.at(-1) as string, { 'src/module7.py': `# round ${i}\n${'x = 2\n'.repeat(300)}` }, `round ${i}`))
  await git.writeRef({ fs, gitdir: served, ref: 'refs/heads/best', value: commits.at(-1) as string, force: true })

  // Our side: a node serving the fetch protocol from the bare repository.
  const server = await createNode({ listen: ['/ip4/127.0.0.1/tcp/0'] })
  await handleRequests(server, PROTOCOL.fetch, FetchRequest, async (req, ctx) => {
    const oids = await objectsMissing(served, req.want, req.have)
    const pack = await exportPack(served, oids)
    await ctx.framed.writeJson({ ok: true, objects: oids.length, bytes: pack.byteLength })
    await ctx.framed.writeBytes(pack)
    return undefined
  })
  const clientNode = await createNode()
  const client = new CoordinatorClient(clientNode, server.getMultiaddrs()[0]!)
  const ours = join(scratch, 'ours.git')
  await ensureBareRepo(ours)
  await client.sync(ours, first, [])
  let oursBytes = 0
  let oursObjects = 0
  // Fetch and store, as `git fetch` does: transfer, hash check, index.
  const t0 = performance.now()
  for (let i = 1; i <= ROUNDS; i++) {
    const { objects, pack } = await client.fetchPack(commits[i] as string, [commits[i - 1] as string])
    oursObjects += objects
    oursBytes += pack?.byteLength ?? 0
    if (pack !== undefined) await importPack(ours, pack, commits[i] as string, fetchRules(undefined, 1 << 26))
  }
  const oursMs = (performance.now() - t0) / ROUNDS
  await clientNode.stop()
  await server.stop()

  // Native git: git daemon on loopback, one `git fetch` per new commit.
  const port = await freePort()
  const daemon = spawn('git', ['daemon', '--reuseaddr', '--export-all', `--base-path=${scratch}`, '--listen=127.0.0.1', `--port=${port}`, scratch], { stdio: 'ignore' })
  try {
    await new Promise((r) => setTimeout(r, 500))
    const theirs = join(scratch, 'theirs')
    execFileSync('git', ['init', '-q', '--bare', theirs])
    const url = `git://127.0.0.1:${port}/served.git`
    const g = (...args: string[]): string => execFileSync('git', ['-C', theirs, '-c', 'fetch.unpackLimit=1', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    g('fetch', '-q', url, `${first}:refs/heads/base`)
    const packBytes = (): number => fs.readdirSync(join(theirs, 'objects', 'pack')).filter((f) => f.endsWith('.pack')).reduce((a, f) => a + fs.statSync(join(theirs, 'objects', 'pack', f)).size, 0)
    const before = packBytes()
    const t1 = performance.now()
    for (let i = 1; i <= ROUNDS; i++) g('fetch', '-q', url, `${commits[i] as string}:refs/heads/r${i}`)
    const gitMs = (performance.now() - t1) / ROUNDS
    const gitBytes = packBytes() - before
    return {
      repository: { files: FILES, oneFileChanges: ROUNDS },
      libp2p: { msPerFetch: Number(oursMs.toFixed(1)), bytesPerFetch: Math.round(oursBytes / ROUNDS), objectsPerFetch: oursObjects / ROUNDS },
      gitDaemon: { msPerFetch: Number(gitMs.toFixed(1)), bytesPerFetch: Math.round(gitBytes / ROUNDS) },
      timeRatioOursOverGit: Number((oursMs / gitMs).toFixed(2)),
      bytesRatioOursOverGit: Number((oursBytes / Math.max(1, gitBytes)).toFixed(2))
    }
  } finally {
    daemon.kill()
  }
}
