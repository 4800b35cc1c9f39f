/**
 * Open verification against a Sybil swarm (real runs of the noisy cause by the honest
 * verifier): keys are free, so ten fresh identities that agree on a lie must not pass
 * any quorum. Their jobs are shadow jobs until they have agreed with trusted verifiers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Identity, type Job } from '@autoresearch/protocol'
import { setConstant } from '../network.ts'
import { HARDWARE, NOISY, snapshot, standing, startArena, type Arena } from './arena.ts'
import { attestationBody, sendAttestation, trialsFor } from './messages.ts'

describe('ten colluding fresh identities in open mode', () => {
  let arena: Arena
  const swarm = Array.from({ length: 10 }, () => Identity.generate())
  beforeAll(async () => { arena = await startArena({ cause: NOISY, config: { verifierMode: 'open' } }) })
  afterAll(async () => { await arena.stop() })

  /** Every key of the swarm asks for a job and attests `candidate(i)` against a baseline of 1.5, whatever the truth. */
  async function swarmAttests (candidate: (i: number) => number): Promise<number> {
    let attested = 0
    for (const key of swarm) {
      const client = await arena.clientFor(key)
      const job = (await client.lease(key, arena.causeId, HARDWARE)).job as Job | null
      if (job === null) continue
      const body = attestationBody(arena, key, job, trialsFor(job, 1.5, candidate))
      await sendAttestation(client, body, key.sign('attestation', body))
      attested++
    }
    return attested
  }

  it('cannot get a no-op merged by attesting it as a large improvement', async () => {
    const before = await snapshot(arena.running)
    const seq = await arena.net.submitEdit(arena.attacker, setConstant('SALT', 21), { claimedMetric: 1.0 })
    const attested = await swarmAttests((i) => 1.0 - 0.001 * i)
    expect(attested).toBeGreaterThan(0)
    expect(arena.net.state(seq)).not.toBe('merged')
    expect(standing(await snapshot(arena.running))).toEqual(standing(before))
    // The host's verifier (the trust root) measures it: nothing gained, rejected.
    expect(await arena.net.verifyAll()).toBe(1)
    const row = arena.running.coordinator.store.candidate(seq)!
    expect(row.state, row.reason ?? '').toBe('rejected')
    expect(row.verdict!.trials.map((t: { verifier: string }) => t.verifier)).toEqual(Array(5).fill(arena.verifier.publicKey))
    expect(standing(await snapshot(arena.running))).toEqual(standing(before))
    // Each swarm key that attested disagreed with the root: its run is over before it began.
    const records = swarm.map((key) => arena.running.coordinator.store.verifierChecks(key.publicKey))
    expect(records.filter((r) => r.length > 0)).toEqual(Array(attested).fill([false]))
  })

  it('cannot block an honest improvement that the trusted verifier measured', async () => {
    const honest = Identity.generate()
    const seq = await arena.net.submitEdit(honest, setConstant('QUALITY', 0.8), { claimedMetric: 1.3 })
    // The swarm claims the change makes things worse.
    expect(await swarmAttests(() => 2.5)).toBeGreaterThan(0)
    expect(arena.net.state(seq)).toBe('queued')
    expect(await arena.net.verifyAll()).toBe(1)
    const row = arena.running.coordinator.store.candidate(seq)!
    expect(row.state, row.reason ?? '').toBe('merged')
    expect(arena.running.coordinator.bestCommit()).toBe(row.commit_oid)
    const credit = (await snapshot(arena.running)).credits as Array<{ publicKey: string, merges: number }>
    expect(credit.find((c) => c.publicKey === honest.publicKey)?.merges).toBe(1)
  })
})
