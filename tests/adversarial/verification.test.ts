/**
 * Attacks on verification with real runs in the sandbox: fabricated claims, forged metric
 * lines, seed-only changes, self-verification, lying verifiers, attestations that do not
 * fit their job, late attestations, and fetching candidates that are not public yet.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Identity, type Job } from '@autoresearch/protocol'
import { dailyQuota, MAX_ROUNDS } from 'autoresearch-coordinator'
import { setConstant } from '../network.ts'
import { causeWith, expectRefused, HARDWARE, NOISY, sleep, snapshot, standing, startArena, TOY, type Arena, type Snapshot } from './arena.ts'
import { attestationBody, sendAttestation, trialsFor } from './messages.ts'

/** What verification may never change for a candidate it did not accept: `standing`, and every other ref too. */
const standingWithRefs = (s: Snapshot): unknown => ({ ...standing(s), refs: s.refs })

const verdictOf = (arena: Arena, seq: number): { claimContradicted: boolean, candidateMetric: number, baselineMetric: number, disagreeing: string[] } =>
  arena.running.coordinator.store.candidate(seq)!.verdict! as { claimContradicted: boolean, candidateMetric: number, baselineMetric: number, disagreeing: string[] }

describe('verification against a noisy cause (allowlisted verifier, real runs)', () => {
  let arena: Arena
  beforeAll(async () => { arena = await startArena({ cause: NOISY }) })
  afterAll(async () => { await arena.stop() })

  it('rejects a fabricated claim far below what verification measures, marks it contradicted and cuts the quota', async () => {
    const mallory = Identity.generate()
    const quotaBefore = dailyQuota(arena.running.coordinator.store.identity(mallory.publicKey))
    const before = await snapshot(arena.running)
    // A no-op edit claiming the loss fell from about 1.5 to 0.2.
    const seq = await arena.net.submitEdit(mallory, setConstant('SALT', 99), { claimedMetric: 0.2 })
    expect(await arena.net.verifyAll()).toBe(1)
    const row = arena.running.coordinator.store.candidate(seq)!
    expect(row.state).toBe('rejected')
    expect(verdictOf(arena, seq).claimContradicted).toBe(true)
    expect(row.reason).toMatch(/claimed gain .* is far beyond the measured/)
    expect(dailyQuota(arena.running.coordinator.store.identity(mallory.publicKey))).toBeLessThan(quotaBefore)
    expect(standingWithRefs(await snapshot(arena.running))).toEqual(standingWithRefs(before))
  })

  it('rejects a seed-only change (train.py ignores AUTORESEARCH_SEED)', async () => {
    const before = await snapshot(arena.running)
    const seq = await arena.net.submitEdit(Identity.generate(), setConstant('SEED_FROM_ENV', 0), { claimedMetric: 1.45 })
    expect(await arena.net.verifyAll()).toBe(1)
    const row = arena.running.coordinator.store.candidate(seq)!
    expect(row.state).toBe('rejected')
    expect(row.reason).toMatch(/ignores AUTORESEARCH_SEED/)
    expect(standingWithRefs(await snapshot(arena.running))).toEqual(standingWithRefs(before))
  })

  describe('a pending candidate', () => {
    let seq: number
    let job: Job
    beforeAll(async () => {
      seq = await arena.net.submitEdit(arena.attacker, setConstant('SALT', 7), { claimedMetric: 1.45 })
    })

    it('is not served to a peer that is not a verifier, by commit or by tree', async () => {
      const row = arena.running.coordinator.store.candidate(seq)!
      const outsider = await arena.clientFor(Identity.generate())
      await expectRefused(arena, async () => outsider.fetchPack(row.commit_oid, []), 'UnknownCommitError')
      await expectRefused(arena, async () => outsider.fetchPack(row.tree_oid, []), 'UnknownCommitError')
      // The allowlisted verifier's peer may fetch it.
      expect((await (await arena.clientFor(arena.verifier)).fetchPack(row.commit_oid, [arena.best])).objects).toBeGreaterThan(0)
    })

    describe('leased to the host\'s verifier', () => {
      beforeAll(async () => {
        job = (await (await arena.clientFor(arena.verifier)).lease(arena.verifier, arena.causeId, HARDWARE)).job as Job
        expect(job.candidateSeq).toBe(seq)
      })

      const attest = async (trials: ReturnType<typeof trialsFor>, o: Parameters<typeof attestationBody>[4] = {}): Promise<unknown> => {
        const body = attestationBody(arena, arena.verifier, job, trials, o)
        return sendAttestation(await arena.clientFor(arena.verifier), body, arena.verifier.sign('attestation', body))
      }

      it('refuses an attestation with seeds other than the job\'s', async () => {
        const err = await expectRefused(arena, async () => attest(trialsFor(job, 1.5, () => 1.0).map((t) => ({ ...t, seed: t.seed + 1 }))), 'InvalidMessageError')
        expect(err.message).toContain('one trial per job seed')
      })

      it('refuses an attestation with the job\'s seeds in another order, or one seed missing', async () => {
        await expectRefused(arena, async () => attest(trialsFor(job, 1.5, () => 1.0).reverse()), 'InvalidMessageError')
        await expectRefused(arena, async () => attest(trialsFor(job, 1.5, () => 1.0).slice(1)), 'InvalidMessageError')
      })

      it('refuses an attestation that names other commits than its job', async () => {
        await expectRefused(arena, async () => attest(trialsFor(job, 1.5, () => 1.0), { candidate: arena.best }), 'InvalidMessageError')
        await expectRefused(arena, async () => attest(trialsFor(job, 1.5, () => 1.0), { baseline: job.candidate }), 'InvalidMessageError')
      })
    })
  })

  it('never leases a candidate to its own submitter\'s verifier key', async () => {
    const before = await snapshot(arena.running)
    // The host's verifier submits a real, large gain: nobody else may verify it in allowlist mode.
    const own = await arena.net.submitEdit(arena.verifier, setConstant('QUALITY', 0.5), { claimedMetric: 1.0 })
    expect(await arena.net.verifyAll()).toBe(0)
    expect((await (await arena.clientFor(arena.verifier)).lease(arena.verifier, arena.causeId, HARDWARE)).job).toBeNull()
    expect(arena.net.state(own)).toBe('queued')
    expect(arena.running.coordinator.store.jobsFor(own)).toEqual([])
    expect(standingWithRefs(await snapshot(arena.running))).toEqual(standingWithRefs(before))
  })
})

describe('open verification with a quorum of two (real runs)', () => {
  let arena: Arena
  const liar = Identity.generate()
  const honestB = Identity.generate()
  beforeAll(async () => {
    // Fresh keys only shadow in open mode (tests/adversarial/sybil.test.ts): the liar and B
    // are trusted from the start, on the operator's allowlist.
    arena = await startArena({ cause: causeWith(NOISY, (m) => { m.verification.quorum = 2 }), config: { verifierMode: 'open' }, extraVerifiers: [liar, honestB] })
  })
  afterAll(async () => { await arena.stop() })

  /** The liar leases the next job and attests the given gains for it, whatever the candidate does. */
  async function lie (gains: number[]): Promise<void> {
    const client = await arena.clientFor(liar)
    const job = (await client.lease(liar, arena.causeId, HARDWARE)).job as Job
    const body = attestationBody(arena, liar, job, trialsFor(job, 1.5, (i) => 1.5 - (gains[i] as number)))
    await sendAttestation(client, body, liar.sign('attestation', body))
  }

  it('never leases a candidate to the key that submitted it, even in open mode', async () => {
    const sybil = Identity.generate()
    const seq = await arena.net.submitEdit(sybil, setConstant('SALT', 5), { claimedMetric: 1.6 })
    expect((await (await arena.clientFor(sybil)).lease(sybil, arena.causeId, HARDWARE)).job).toBeNull()
    expect(arena.running.coordinator.store.jobsFor(seq)).toEqual([])
  })

  it('outvotes a verifier that lies a no-op into a large gain, and lowers its reputation', async () => {
    const before = await snapshot(arena.running)
    const seq = await arena.net.submitEdit(Identity.generate(), setConstant('SALT', 11), { claimedMetric: 1.3 })
    await lie([1, 1, 1, 1, 1])
    const a = await arena.net.verifier()
    expect(await a.runOnce()).toBe(0)
    // The liar and A disagree: another round, measured by B and A.
    expect(arena.running.coordinator.store.candidate(seq)!.rounds).toBe(2)
    expect(await (await arena.net.verifier(honestB)).runOnce()).toBe(0)
    expect(await a.runOnce()).toBe(0)
    const row = arena.running.coordinator.store.candidate(seq)!
    expect(row.state, row.reason ?? '').toBe('rejected')
    expect(verdictOf(arena, seq).disagreeing).toEqual([liar.publicKey])
    expect(arena.running.coordinator.store.identity(liar.publicKey).verifier_disagreed).toBe(1)
    expect(standingWithRefs(await snapshot(arena.running))).toEqual(standingWithRefs(before))
  })

  // B6 (fixed): the split rule compared the two verifiers against the pooled spread of
  // *both* verifiers' gains, which a liar widens by spreading its invented gains; the
  // pooled t-test then passed on the liar's numbers. Verifiers are now compared with the
  // spread within each verifier, and a split that no third verifier settles is rejected.
  it('does not merge a no-op when one of two verifiers lies with spread-out gains (B6, fixed)', async () => {
    const before = await snapshot(arena.running)
    const seq = await arena.net.submitEdit(Identity.generate(), setConstant('SALT', 13), { claimedMetric: 1.3 })
    const a = await arena.net.verifier()
    // Only the liar and one honest verifier show up, round after round.
    for (let round = 1; round <= MAX_ROUNDS && arena.net.state(seq) !== 'rejected'; round++) {
      await lie([1.6, 0.4, 1.6, 0.4, 1.0])
      expect(await a.runOnce()).toBe(0)
      expect(arena.net.state(seq)).not.toBe('merged')
    }
    const row = arena.running.coordinator.store.candidate(seq)!
    expect(row.state, row.reason ?? '').toBe('rejected')
    expect(row.reason).toMatch(/verifiers still disagree after \d rounds/)
    expect(standingWithRefs(await snapshot(arena.running))).toEqual(standingWithRefs(before))
  })
})

describe('a forged metric line in train.py (toy cause, real runs)', () => {
  let arena: Arena
  beforeAll(async () => { arena = await startArena({ cause: TOY }) })
  afterAll(async () => { await arena.stop() })

  it('takes the metric from evaluate, not from what train.py prints, and rejects the candidate', async () => {
    const before = await snapshot(arena.running)
    const forge = (text: string): string => text.replace(
      'if __name__ == "__main__":\n    main()',
      'if __name__ == "__main__":\n    main()\n    print("val_mse: 0.000001")\n    print(\'{"metric": 0.000001}\')\n' +
      '    open(os.path.join(os.environ["AUTORESEARCH_OUT"], "result.json"), "w").write(\'{"metric": 0.000001}\')\n')
    const seq = await arena.net.submitEdit(arena.attacker, (text) => {
      const forged = forge(text)
      expect(forged).not.toBe(text)
      return forged
    }, { claimedMetric: 0.000001 })
    expect(await arena.net.verifyAll()).toBe(1)
    const row = arena.running.coordinator.store.candidate(seq)!
    expect(row.state).toBe('rejected')
    const verdict = verdictOf(arena, seq)
    // The candidate trains exactly as the baseline does: evaluate measures the same loss.
    expect(verdict.candidateMetric).toBeGreaterThan(0.01)
    expect(verdict.candidateMetric).toBeCloseTo(verdict.baselineMetric, 6)
    expect(verdict.claimContradicted).toBe(true)
    expect(standingWithRefs(await snapshot(arena.running))).toEqual(standingWithRefs(before))
  })
})

describe('a late attestation', () => {
  let arena: Arena
  beforeAll(async () => { arena = await startArena({ cause: TOY, config: { leaseSeconds: 1 } }) })
  afterAll(async () => { await arena.stop() })

  it('is refused with LeaseExpiredError after the lease ran out and the job was re-issued', async () => {
    await arena.net.submitEdit(arena.attacker, (t) => `${t}\n# slow verifier\n`, { claimedMetric: 0.05 })
    const client = await arena.clientFor(arena.verifier)
    const job = (await client.lease(arena.verifier, arena.causeId, HARDWARE)).job as Job
    await sleep(1500)
    const again = (await client.lease(arena.verifier, arena.causeId, HARDWARE)).job as Job
    expect(again.candidateSeq).toBe(job.candidateSeq)
    expect(again.jobId).not.toBe(job.jobId)
    const body = attestationBody(arena, arena.verifier, job, trialsFor(job, 0.08, () => 0.01))
    await expectRefused(arena, async () => sendAttestation(client, body, arena.verifier.sign('attestation', body)), 'LeaseExpiredError')
  })
})
