import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as fs from 'node:fs'
import git from 'isomorphic-git'
import { afterAll, describe, expect, it } from 'vitest'
import { BEST_REF, homePaths, initHome, Store } from 'autoresearch-coordinator'
import { ROOT, startBin, type Proc } from './processes.ts'

describe('end to end over libp2p with real processes', () => {
  const procs: Proc[] = []
  afterAll(async () => { await Promise.all(procs.map(async (p) => p.stop())) })

  it('a worker\'s improvement is submitted, verified by a verifier process, merged, and fetched by the other worker', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'ar-e2e-'))
    const home = join(scratch, 'home')
    await initHome(home, join(ROOT, 'examples', 'toy-regression'))

    const coordinator = startBin('coordinator/bin/autoresearch-coordinator.js', ['serve', '--home', home, '--listen', '/ip4/127.0.0.1/tcp/0', '--http-port', '0', '--json'])
    procs.push(coordinator)
    const ready = await coordinator.waitForJson<{ multiaddrs: string[], http: string }>((e) => e.event === 'ready', 60_000)
    const address = ready.multiaddrs[0] as string
    expect(address).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//)

    procs.push(startBin('verifier/bin/autoresearch-verifier.js', ['--coordinator', address, '--identity', homePaths(home).verifierIdentity, '--state', join(scratch, 'verifier'), '--json']))
    const workers = [1, 2].map((i) => startBin('worker/bin/autoresearch-worker.js', [
      '--coordinator', address, '--agent', 'search', '--identity', join(scratch, `w${i}`, 'identity.key'), '--state', join(scratch, `w${i}`), '--seed', String(i), '--json'
    ]))
    procs.push(...workers)

    const merged = await coordinator.waitForJson<{ commit: string, candidateSeq: number, metric: number, baselineMetric: number }>((e) => e.event === 'merged', 600_000)
    expect(merged.metric).toBeLessThan(merged.baselineMetric)

    // Both workers move to the merged commit: the submitter and the other one.
    for (const worker of workers) {
      await worker.waitForJson((e) => e.event === 'best' && e.commit === merged.commit, 120_000)
    }
    const submitter = workers.find((w) => w.lines.some((l) => l.includes('"submitted"') && l.includes(`"candidateSeq":${merged.candidateSeq},`)))
    expect(submitter).toBeDefined()

    const status = await (await fetch(`${ready.http}/api/status`)).json() as { merges: number, best: { commit: string, metric: number } }
    expect(status.merges).toBeGreaterThanOrEqual(1)

    await Promise.all(procs.map(async (p) => p.stop()))
    // After the processes are gone the SQLite file and the ref agree on the best.
    const store = new Store(homePaths(home).database)
    const last = store.lastMerge()!
    store.close()
    expect(await git.resolveRef({ fs, gitdir: homePaths(home).gitdir, ref: BEST_REF })).toBe(last.commit_oid)
    const rows = fs.readFileSync(join(scratch, 'w1', 'results.tsv'), 'utf8').trim().split('\n')
    expect(rows[0]).toBe('commit\tmetric\tmemory_gb\tstatus\tdescription')
    expect(rows.length).toBeGreaterThan(2)
  })
})
