import { readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { CoordinatorClient, createNode, ensureBareRepo, type AutoresearchNode } from '@autoresearch/protocol'
import { homePaths, initHome, serveCoordinator } from 'autoresearch-coordinator'

export interface FreshCoordinator {
  running: Awaited<ReturnType<typeof serveCoordinator>>
  /** A peer of its own, with a client of the coordinator. */
  node: AutoresearchNode
  client: CoordinatorClient
  /** A repository beside it holding the best, for the bench's submissions. */
  gitdir: string
  best: string
  causeId: string
  database: string
}

/**
 * A coordinator of the toy-regression cause on a fresh home in `scratch`, served on loopback,
 * with a peer that has fetched its best. The per-address bounds (refusals, shared messages) are
 * lifted: every peer of a bench shares 127.0.0.1, so it would measure them instead of the work.
 */
export async function freshCoordinator (scratch: string, name: string): Promise<FreshCoordinator> {
  const home = join(scratch, name)
  await initHome(home, resolve(import.meta.dirname, '..', '..', 'examples', 'toy-regression'))
  const configPath = homePaths(home).config
  writeFileSync(configPath, JSON.stringify({ ...JSON.parse(readFileSync(configPath, 'utf8')), refusalsPerAddress: 1_000_000, sharedPerAddress: 1000 }))
  const running = await serveCoordinator({ home, listen: ['/ip4/127.0.0.1/tcp/0'], httpPort: 0 })
  const node = await createNode()
  const client = new CoordinatorClient(node, running.multiaddrs[0] as string)
  const gitdir = join(scratch, `${name}-peer.git`)
  await ensureBareRepo(gitdir)
  const info = await client.info()
  await client.sync(gitdir, info.best.commit, [])
  return { running, node, client, gitdir, best: info.best.commit, causeId: info.causeId, database: homePaths(home).database }
}
