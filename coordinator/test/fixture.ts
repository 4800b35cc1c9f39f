import * as fs from 'node:fs'
import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import git from 'isomorphic-git'
import { CoordinatorClient, createNode, ensureBareRepo, Identity, type AutoresearchNode } from '@autoresearch/protocol'
import { BEST_REF, homePaths, initHome, serveCoordinator, type RunningCoordinator } from '../src/index.ts'

export const TOY = resolve(import.meta.dirname, '..', '..', 'examples', 'toy-regression')

export interface Fixture {
  running: RunningCoordinator
  client: CoordinatorClient
  node: AutoresearchNode
  identity: Identity
  /** A submitter's local repository holding the current best. */
  gitdir: string
  best: string
  /** The host's own verifier, allowlisted by init. */
  verifier: Identity
  stop: () => Promise<void>
}

export async function startFixture (opts: { leaseSeconds?: number, cause?: string } = {}): Promise<Fixture> {
  const home = join(mkdtempSync(join(tmpdir(), 'ar-coord-')), 'home')
  await initHome(home, opts.cause ?? TOY)
  if (opts.leaseSeconds !== undefined) {
    const configPath = homePaths(home).config
    fs.writeFileSync(configPath, JSON.stringify({ ...JSON.parse(fs.readFileSync(configPath, 'utf8')), leaseSeconds: opts.leaseSeconds }))
  }
  const running = await serveCoordinator({ home, listen: ['/ip4/127.0.0.1/tcp/0'], httpPort: 0 })
  const identity = Identity.generate()
  const node = await createNode({ identity })
  const client = new CoordinatorClient(node, running.multiaddrs[0] as string)
  const gitdir = join(mkdtempSync(join(tmpdir(), 'ar-sub-')), 'repo.git')
  await ensureBareRepo(gitdir)
  const info = await client.info()
  await client.sync(gitdir, info.best.commit, [])
  return {
    running, client, node, identity, gitdir, best: info.best.commit, verifier: Identity.load(homePaths(home).verifierIdentity),
    stop: async () => { await node.stop(); await running.stop() }
  }
}

/** Everything a rejected submission must leave untouched: rows, ref and stored packs. */
export async function snapshot (running: RunningCoordinator): Promise<unknown> {
  const { store, paths } = running.coordinator
  const packDir = join(paths.gitdir, 'objects', 'pack')
  return {
    candidates: store.candidates(),
    nonces: store.dump('nonces'),
    jobs: store.dump('jobs'),
    merges: store.merges(),
    ref: await git.resolveRef({ fs, gitdir: paths.gitdir, ref: BEST_REF }),
    packs: fs.existsSync(packDir) ? readdirSync(packDir).sort() : []
  }
}
