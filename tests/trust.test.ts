import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Identity } from '@autoresearch/protocol'
import { credits, dailyQuota, revertLatestMerge } from 'autoresearch-coordinator'
import { ROOT } from './processes.ts'
import { setConstant, TestNetwork } from './network.ts'

const NOISY = join(ROOT, 'tests', 'fixtures', 'noisy-cause')
// Per-run noise of the noisy cause: sqrt(0.03² + 0.005²) ≈ 0.0304.
const SIGMA = Math.sqrt(0.03 ** 2 + 0.005 ** 2)

describe('verification that cannot be fooled (real libp2p, real runs of the noisy cause)', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  it('rejects luck (no-op edits, a constant seed) every time and accepts a real 3σ gain', async () => {
    net = await TestNetwork.start(NOISY)
    const alice = Identity.generate()
    const luck: number[] = []
    for (let salt = 1; salt <= 8; salt++) luck.push(await net.submitEdit(alice, setConstant('SALT', salt)))
    const fixedSeed = await net.submitEdit(alice, setConstant('SEED_FROM_ENV', 0))
    await net.verifyAll()
    for (const seq of luck) expect(net.state(seq), `no-op candidate #${seq}`).toBe('rejected')
    expect(net.state(fixedSeed)).toBe('rejected')
    expect(net.running.coordinator.store.candidate(fixedSeed)?.reason).toMatch(/ignores AUTORESEARCH_SEED/)

    const real = await net.submitEdit(alice, setConstant('QUALITY', (1 - 3 * SIGMA).toFixed(4)))
    await net.verifyAll()
    expect(net.state(real)).toBe('merged')
    const verdict = net.running.coordinator.store.candidate(real)!.verdict! as { seeds: number[], test: { mean: number, pValue: number } }
    expect(verdict.seeds).toHaveLength(5)
    expect(verdict.test.mean).toBeGreaterThan(2 * SIGMA)
    expect(net.running.coordinator.status().merges).toBe(1)
  })

  it('rejects a fabricated claim and shrinks the quota; the submitter never verifies its own candidate', async () => {
    net = await TestNetwork.start(NOISY)
    const mallory = Identity.generate()
    const quotaBefore = dailyQuota(net.running.coordinator.store.identity(mallory.publicKey))
    const fabricated = await net.submitEdit(mallory, setConstant('SALT', 99), { claimedMetric: 0.2 })
    await net.verifyAll()
    const row = net.running.coordinator.store.candidate(fabricated)!
    expect(row.state).toBe('rejected')
    expect(row.verdict!.claimContradicted).toBe(true)
    expect(dailyQuota(net.running.coordinator.store.identity(mallory.publicKey))).toBeLessThan(quotaBefore)

    // The host's verifier submits: it is never leased its own candidate.
    const own = await net.submitEdit(net.verifierIdentity, setConstant('QUALITY', 0.5))
    expect(await net.verifyAll()).toBe(0)
    expect(net.state(own)).toBe('queued')
  })

  it('merges two edits of different lines (one through a three-way merge and re-verification), refuses a conflicting one as stale, across restarts', async () => {
    net = await TestNetwork.start(NOISY)
    const alice = Identity.generate()
    const bob = Identity.generate()
    const carol = Identity.generate()
    const parent = net.best
    const a = await net.submitEdit(alice, setConstant('QUALITY', 0.9), { parent, claimedMetric: 1.4 })
    await net.restart()
    const b = await net.submitEdit(bob, setConstant('BONUS', 0.4), { parent, claimedMetric: 1.4 })
    const c = await net.submitEdit(carol, setConstant('QUALITY', 0.85), { parent, claimedMetric: 1.48 })
    await net.restart()
    // Alice's claim is first (Bob's equal claim came later); her merge makes Bob's and Carol's parents stale.
    const verifier = await net.verifier()
    expect(await verifier.runOnce()).toBe(0)
    expect(net.state(a)).toBe('merged')
    await net.restart()
    await net.verifyAll()
    expect(net.state(b), net.running.coordinator.store.candidate(b)?.reason ?? '').toBe('rebased')
    expect(net.state(c)).toBe('stale')
    expect(net.running.coordinator.store.candidate(c)!.reason).toMatch(/conflicts with the new best .* in train\.py/)
    const rebased = net.running.coordinator.candidateStatus(b).rebasedAs!
    expect(net.state(rebased)).toBe('merged')
    expect(net.running.coordinator.store.candidate(rebased)!.submitter).toBe(bob.publicKey)
    await net.restart()
    const info = await (await net.client(alice)).info()
    expect(info.best.seq).toBe(2)
    const credit = credits(net.running.coordinator.store, net.running.coordinator.manifest)
    expect(credit.find((x) => x.publicKey === bob.publicKey)?.merges).toBe(1)
    expect(credit.find((x) => x.publicKey === alice.publicKey)?.merges).toBe(1)
    expect(credit.find((x) => x.publicKey === net!.verifierIdentity.publicKey)?.verificationRuns).toBeGreaterThan(0)

    // Revert the latest merge: best moves back, Bob's credit goes, the ref follows after a restart.
    const before = net.best
    const { commit } = revertLatestMerge(net.running.coordinator.store)
    await net.restart()
    expect(net.best).toBe(commit)
    expect(net.best).not.toBe(before)
    expect(credits(net.running.coordinator.store, net.running.coordinator.manifest).find((x) => x.publicKey === bob.publicKey)?.merges ?? 0).toBe(0)
    expect(net.running.coordinator.status().merges).toBe(1)
  })

  it('re-verifies on the new best a candidate that already held the change that merged, instead of calling it a duplicate of itself', async () => {
    net = await TestNetwork.start(NOISY)
    const parent = net.best
    const a = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.9), { parent, claimedMetric: 1.4 })
    // Bob's candidate holds Alice's change and one of his own: merged onto her best it is his own tree again.
    const b = await net.submitEdit(Identity.generate(), (t) => setConstant('BONUS', 0.4)(setConstant('QUALITY', 0.9)(t)), { parent, claimedMetric: 1.45 })
    expect(await (await net.verifier()).runOnce()).toBe(0)
    expect(net.state(a)).toBe('merged')
    await net.verifyAll()
    const row = net.running.coordinator.store.candidate(b)!
    expect(row.state, row.reason ?? '').toBe('rebased')
    const rebased = net.running.coordinator.store.candidate(net.running.coordinator.candidateStatus(b).rebasedAs!)!
    expect(rebased.tree_oid).toBe(row.tree_oid)
    expect(rebased.parent_oid).toBe(net.running.coordinator.store.candidate(a)!.commit_oid)
    expect(['merged', 'rejected']).toContain(rebased.state)
  })

  it('keeps an earlier pending candidate ahead of a later one within epsilon', async () => {
    net = await TestNetwork.start(NOISY)
    const early = await net.submitEdit(Identity.generate(), setConstant('SALT', 1), { claimedMetric: 1.40 })
    const late = await net.submitEdit(Identity.generate(), setConstant('SALT', 2), { claimedMetric: 1.39 })
    const far = await net.submitEdit(Identity.generate(), setConstant('SALT', 3), { claimedMetric: 1.30 })
    const client = await net.client(net.verifierIdentity)
    const order: number[] = []
    for (let i = 0; i < 3; i++) {
      const { job } = await client.lease(net.verifierIdentity, net.running.coordinator.causeId, { class: 'test', cpus: 1, gpus: [] })
      order.push(job!.candidateSeq)
      net.running.coordinator.store.setCandidateState(job!.candidateSeq, 'rejected', 'test')
    }
    expect(order).toEqual([far, early, late])
  })
})
