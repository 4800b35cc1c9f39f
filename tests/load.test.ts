import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Identity, verifySignature } from '@autoresearch/protocol'
import { homePaths, Store } from 'autoresearch-coordinator'
import { runLoad, type LoadResult } from '../bench/lib/load.ts'

// The load bench's machinery at a small size: a coordinator process, two processes of
// eight libp2p peers each, all from 127.0.0.1 (more than gossipsub's IP-colocation
// threshold, which once silenced them), two merges, intake while they are connected.
// No timings are asserted.
describe('load: many connected peers around a coordinator process', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'ar-load-'))
  afterAll(() => { rmSync(scratch, { recursive: true, force: true }) })
  let r: LoadResult

  it('runs with every process stopped afterwards', async () => {
    r = await runLoad({ scratch, processes: 2, peersPerProcess: 8, merges: 2, submissions: 5 })
    expect(r.pids).toHaveLength(3)
    for (const pid of r.pids) expect(() => process.kill(pid, 0)).toThrow()
  })

  it('every peer held its connection for the whole run, as the coordinator process counts them', () => {
    expect(r.peers).toHaveLength(16)
    expect(r.connectionsAtStart).toBe(16)
    expect(r.connectionsAtEnd).toBe(16)
    expect(r.peersDisconnected).toEqual([])
  })

  it('every peer received every merge\'s announcement, signed by the coordinator\'s key', () => {
    const key = Identity.load(homePaths(r.home).identity).publicKey
    expect(r.coordinatorKey).toBe(key)
    expect(r.peerKeys).toEqual([key, key])
    expect(r.merged).toHaveLength(2)
    for (const peer of r.peers) {
      for (const commit of r.merged) expect(r.deliveries.filter((d) => d.peer === peer && d.commit === commit && d.verified)).toHaveLength(1)
    }
    expect(r.deliveries.every((d) => d.verified)).toBe(true)
  })

  it('intake accepted every submission while loaded: signed receipts, candidates in the database and the HTTP API', () => {
    const store = new Store(homePaths(r.home).database)
    try {
      for (const run of [r.idleBefore, r.loaded, r.idleAfter]) {
        expect(run.accepted).toBe(5)
        for (const { receipt, signature } of run.receipts) {
          expect(verifySignature('receipt', receipt, signature, r.coordinatorKey)).toBe(true)
          expect(r.apiCandidates).toContain(receipt.candidate)
          expect(store.candidateByCommit(receipt.candidate)?.seq).toBe(receipt.candidateSeq)
        }
      }
      // Those submitted before the merges went stale when the best moved; the later ones wait for verification.
      for (const { receipt } of r.loaded.receipts) expect(store.candidateByCommit(receipt.candidate)?.state).toBe('queued')
      for (const { receipt } of r.idleBefore.receipts) expect(store.candidateByCommit(receipt.candidate)?.state).toBe('stale')
    } finally {
      store.close()
    }
  })

  it('reports the coordinator\'s resident memory before and after the peers connected', () => {
    expect(r.rssBeforeKiB).toBeGreaterThan(0)
    expect(r.rssAfterKiB).toBeGreaterThan(0)
  })
})
