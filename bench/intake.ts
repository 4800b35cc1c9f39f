import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { deflateSync } from 'node:zlib'
import git from 'isomorphic-git'
import {
  commitWithChanges, gitFs, Identity, objectsMissing, packForSubmission, readFileAt, sha256Hex
} from '@autoresearch/protocol'
import { freshCoordinator } from './lib/fresh-coordinator.ts'

const SUBMISSIONS = 300
const SUBMITTERS = 20
const IN_FLIGHT = 8
/** Tiny distinct blobs in each stuffed pack: the issue's ~130 KiB pack held about this many. */
const STUFFED_BLOBS = 3000
/** Attack submissions kept in flight while the honest ones run. */
const ATTACKERS = 4

interface Prepared { identity: Identity, commit: string, pack: Uint8Array }

const pct = (xs: number[], p: number): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  return Number((sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number).toFixed(1))
}

/** A version-2 pack of the given objects, as any client could build it by hand. */
function handPack (objects: Array<{ type: 'commit' | 'tree' | 'blob', content: Uint8Array }>): Uint8Array {
  const code = { commit: 1, tree: 2, blob: 3 }
  const header = Buffer.alloc(12)
  header.write('PACK', 0, 'latin1')
  header.writeUInt32BE(2, 4)
  header.writeUInt32BE(objects.length, 8)
  const parts = objects.flatMap(({ type, content }) => {
    const bytes: number[] = []
    let size = content.byteLength
    let byte = (code[type] << 4) | (size & 0x0f)
    size = Math.floor(size / 16)
    while (size > 0) { bytes.push(byte | 0x80); byte = size & 0x7f; size = Math.floor(size / 128) }
    bytes.push(byte)
    return [Buffer.from(bytes), deflateSync(content)]
  })
  const body = Buffer.concat([header, ...parts])
  return Buffer.concat([body, createHash('sha1').update(body).digest()])
}

const coordinator = freshCoordinator

async function prepare (gitdir: string, best: string, tag: string): Promise<Prepared[]> {
  const text = await readFileAt(gitdir, best, 'train.py') as string
  const identities = Array.from({ length: SUBMITTERS }, () => Identity.generate())
  const prepared: Prepared[] = []
  for (let i = 0; i < SUBMISSIONS; i++) {
    const commit = await commitWithChanges(gitdir, best, { 'train.py': `${text}\n# ${tag} ${i}\n` }, `${tag} ${i}`)
    prepared.push({ identity: identities[i % SUBMITTERS] as Identity, commit, pack: await packForSubmission(gitdir, commit, best) })
  }
  return prepared
}

/**
 * Two attack packs on an honest-looking candidate: one stuffed with STUFFED_BLOBS tiny
 * blobs (over the object cap), one with a few hitchhikers (under the cap, so it is
 * parsed and its closure walked before it is refused).
 */
async function attackPacks (gitdir: string, best: string): Promise<Array<{ commit: string, pack: Uint8Array }>> {
  const text = await readFileAt(gitdir, best, 'train.py') as string
  const commit = await commitWithChanges(gitdir, best, { 'train.py': `${text}\n# attacker\n` }, 'attacker')
  const objects = await Promise.all((await objectsMissing(gitdir, commit, [best])).map(async (oid) => {
    const { type, object } = await git.readObject({ fs: gitFs, gitdir, oid, format: 'content' })
    return { type: type as 'commit' | 'tree' | 'blob', content: object as Uint8Array }
  }))
  const junk = (n: number): typeof objects => Array.from({ length: n }, (_, i) => ({ type: 'blob' as const, content: new TextEncoder().encode(`junk ${i} ${Math.random()}\n`) }))
  return [{ commit, pack: handPack([...objects, ...junk(STUFFED_BLOBS)]) }, { commit, pack: handPack([...objects, ...junk(40)]) }]
}

interface RunResult { latencies: number[], seconds: number, refusals: number[] }

/** Honest latencies, with `attack` running alongside when given. */
async function honestRun (c: Awaited<ReturnType<typeof coordinator>>, prepared: Prepared[], attack: Array<{ commit: string, pack: Uint8Array }> = []): Promise<RunResult> {
  const fields = (commit: string) => ({ causeId: c.causeId, parent: c.best, candidate: commit, claimedMetric: 0.05, logDigest: sha256Hex(''), description: 'bench' })
  let done = false
  const refusals: number[] = []
  const refusedNames = new Set<string>()
  const attackers = attack.length === 0 ? [] : Array.from({ length: ATTACKERS }, async (_, a) => {
    for (let i = 0; !done; i++) {
      const { commit, pack } = attack[(a + i) % attack.length] as { commit: string, pack: Uint8Array }
      const t = performance.now()
      // A fresh key each time: keys are free, so the identity quota does not stop this.
      const err = await c.client.submit(Identity.generate(), fields(commit), pack).then(() => undefined, (e: Error) => e)
      if (err === undefined) throw new Error('an attack pack was accepted')
      refusedNames.add(err.name)
      refusals.push(performance.now() - t)
    }
  })
  const latencies: number[] = []
  const started = performance.now()
  for (let i = 0; i < prepared.length; i += IN_FLIGHT) {
    await Promise.all(prepared.slice(i, i + IN_FLIGHT).map(async ({ identity, commit, pack }, j) => {
      const t = performance.now()
      await c.client.submit(identity, fields(commit), pack)
      latencies[i + j] = performance.now() - t
    }))
  }
  const seconds = (performance.now() - started) / 1000
  done = true
  await Promise.all(attackers)
  if (attack.length > 0) process.stderr.write(`attack refused with ${[...refusedNames].join(', ')}\n`)
  await c.node.stop()
  await c.running.stop()
  return { latencies, seconds, refusals }
}

/**
 * Signed submissions per second through the whole intake path over libp2p on
 * loopback: signature, nonce, quota, pack check in memory, objects stored, tree
 * checks, receipt committed to SQLite, signed reply. Packs are prepared before timing.
 * Then the same on a fresh coordinator while an attacker keeps ATTACKERS stuffed
 * packs in flight (issue 12 §5): honest latency quiet against under attack.
 */
export async function run (): Promise<Record<string, unknown>> {
  const scratch = mkdtempSync(join(tmpdir(), 'ar-bench-intake-'))
  const quiet = await coordinator(scratch, 'quiet')
  const quietPrepared = await prepare(quiet.gitdir, quiet.best, 'quiet')
  process.stderr.write(`prepared ${SUBMISSIONS} submissions from ${SUBMITTERS} identities\n`)
  const { latencies, seconds } = await honestRun(quiet, quietPrepared)
  // Whether intake slows as candidates accumulate in the repository and database.
  const first = pct(latencies.slice(0, 100), 0.5)
  const last = pct(latencies.slice(-100), 0.5)

  const attacked = await coordinator(scratch, 'attacked')
  const attackedPrepared = await prepare(attacked.gitdir, attacked.best, 'attacked')
  const attack = await attackPacks(attacked.gitdir, attacked.best)
  process.stderr.write(`attack packs: ${attack.map((a) => `${a.pack.byteLength} bytes`).join(', ')}\n`)
  const underAttack = await honestRun(attacked, attackedPrepared, attack)

  const quietP99 = pct(latencies, 0.99)
  const attackedP99 = pct(underAttack.latencies, 0.99)
  return {
    submissions: latencies.length, concurrency: IN_FLIGHT, seconds: Number(seconds.toFixed(2)), submissionsPerSec: Number((latencies.length / seconds).toFixed(1)),
    latencyMsP50: pct(latencies, 0.5), latencyMsP99: quietP99,
    first100LatencyMsP50: first, last100LatencyMsP50: last, lastOverFirst: Number((last / first).toFixed(2)),
    attack: {
      attackersInFlight: ATTACKERS, stuffedBlobs: STUFFED_BLOBS, packBytes: attack.map((a) => a.pack.byteLength), refusals: underAttack.refusals.length,
      refusalMsP50: pct(underAttack.refusals, 0.5), refusalMsP99: pct(underAttack.refusals, 0.99),
      submissionsPerSec: Number((underAttack.latencies.length / underAttack.seconds).toFixed(1)), latencyMsP50: pct(underAttack.latencies, 0.5), latencyMsP99: attackedP99
    },
    attackedOverQuietP99: Number((attackedP99 / quietP99).toFixed(2))
  }
}
