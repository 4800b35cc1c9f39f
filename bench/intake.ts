import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { commitWithChanges, CoordinatorClient, createNode, ensureBareRepo, Identity, packForSubmission, readFileAt, sha256Hex } from '@autoresearch/protocol'
import { initHome, serveCoordinator } from 'autoresearch-coordinator'

const SUBMISSIONS = 300
const SUBMITTERS = 20

/**
 * Signed submissions per second through the whole intake path over libp2p on
 * loopback: signature, nonce, quota, pack import and hash check, tree checks,
 * receipt committed to SQLite, signed reply. Packs are prepared before timing.
 */
export async function run (): Promise<Record<string, unknown>> {
  const scratch = mkdtempSync(join(tmpdir(), 'ar-bench-intake-'))
  await initHome(join(scratch, 'home'), resolve(import.meta.dirname, '..', 'examples', 'toy-regression'))
  const running = await serveCoordinator({ home: join(scratch, 'home'), listen: ['/ip4/127.0.0.1/tcp/0'], httpPort: 0 })
  const node = await createNode()
  const client = new CoordinatorClient(node, running.multiaddrs[0] as string)
  const gitdir = join(scratch, 'submitter.git')
  await ensureBareRepo(gitdir)
  const info = await client.info()
  await client.sync(gitdir, info.best.commit, [])
  const text = await readFileAt(gitdir, info.best.commit, 'train.py') as string
  const identities = Array.from({ length: SUBMITTERS }, () => Identity.generate())
  const prepared: Array<{ identity: Identity, commit: string, pack: Uint8Array }> = []
  for (let i = 0; i < SUBMISSIONS; i++) {
    const commit = await commitWithChanges(gitdir, info.best.commit, { 'train.py': `${text}\n# variant ${i}\n` }, `variant ${i}`)
    prepared.push({ identity: identities[i % SUBMITTERS] as Identity, commit, pack: await packForSubmission(gitdir, commit, info.best.commit) })
  }
  process.stderr.write(`prepared ${SUBMISSIONS} submissions from ${SUBMITTERS} identities\n`)
  const latencies: number[] = []
  const started = performance.now()
  let accepted = 0
  for (let i = 0; i < prepared.length; i += 8) {
    await Promise.all(prepared.slice(i, i + 8).map(async ({ identity, commit, pack }, j) => {
      const t = performance.now()
      await client.submit(identity, { causeId: info.causeId, parent: info.best.commit, candidate: commit, claimedMetric: 0.05, logDigest: sha256Hex(''), description: 'bench' }, pack)
      latencies[i + j] = performance.now() - t
      accepted++
    }))
  }
  const seconds = (performance.now() - started) / 1000
  await node.stop()
  await running.stop()
  const pct = (xs: number[], p: number): number => {
    const sorted = [...xs].sort((a, b) => a - b)
    return Number((sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number).toFixed(1))
  }
  // Whether intake slows as candidates accumulate in the repository and database.
  const first = pct(latencies.slice(0, 100), 0.5)
  const last = pct(latencies.slice(-100), 0.5)
  return {
    submissions: accepted, concurrency: 8, seconds: Number(seconds.toFixed(2)), submissionsPerSec: Number((accepted / seconds).toFixed(1)),
    latencyMsP50: pct(latencies, 0.5), latencyMsP99: pct(latencies, 0.99),
    first100LatencyMsP50: first, last100LatencyMsP50: last, lastOverFirst: Number((last / first).toFixed(2))
  }
}
