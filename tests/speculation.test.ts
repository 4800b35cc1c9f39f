/**
 * Speculative verification (docs/trust.md, "Speculation"; coordinator/src/speculate.ts): a
 * second verifier's job is a candidate carried onto the one the first is verifying, measured
 * against it. Real coordinator, libp2p and git; the verifiers' measurements are given, so that
 * each verdict is the one the test needs (tests/merge-groups.test.ts does the same).
 */
import { execFileSync } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { describeHardware, Identity, readFileAt, type CandidateStatusReply, type Job } from '@autoresearch/protocol'
import { BEST_REF, credits, homePaths } from 'autoresearch-coordinator'
import { NOISY } from './adversarial/arena.ts'
import { causeWith, givenTrials, setConstant, TestNetwork } from './network.ts'

const hardware = describeHardware()
const SPECULATIVE = causeWith(NOISY, { speculation: { window: 2 } })

/** A network with two verifiers' keys on the allowlist (the host's and `second`), leasing and attesting by hand. */
async function twoVerifiers (config: Record<string, unknown> = {}): Promise<{ net: TestNetwork, second: Identity }> {
  const second = Identity.generate()
  return { net: await TestNetwork.start(SPECULATIVE, (c) => ({ ...config, verifiers: [...c.verifiers, second.publicKey] })), second }
}

function verifiers (net: TestNetwork): { lease: (who: Identity) => Promise<Job | null>, attest: (who: Identity, job: Job, gain: number) => Promise<string> } {
  const { causeId } = net.running.coordinator
  return {
    lease: async (who) => (await (await net.client(who)).lease(who, causeId, hardware)).job,
    attest: async (who, job, gain) => (await (await net.client(who)).attest(who, { causeId, jobId: job.jobId, candidate: job.candidate, baseline: job.baseline, trials: givenTrials(job, gain), hardware })).verdict.state
  }
}

/** A (SALT) and B (QUALITY), compatible changes, A the better claim: the host's verifier leases A, the second verifier B carried onto A. */
async function chainOfTwo (config: Record<string, unknown> = {}): Promise<{ net: TestNetwork, second: Identity, start: string, authors: Identity[], a: number, b: number, first: Job, next: Job } & ReturnType<typeof verifiers>> {
  const { net, second } = await twoVerifiers(config)
  const start = net.best
  const authors = [Identity.generate(), Identity.generate()]
  const a = await net.submitEdit(authors[0] as Identity, setConstant('SALT', 7), { claimedMetric: 1.0 })
  const b = await net.submitEdit(authors[1] as Identity, setConstant('QUALITY', 0.8), { claimedMetric: 1.1 })
  const ops = verifiers(net)
  const first = await ops.lease(net.verifierIdentity) as Job
  const next = await ops.lease(second) as Job
  return { net, second, start, authors, a, b, first, next, ...ops }
}

const trainPy = async (net: TestNetwork): Promise<string> => await readFileAt(homePaths(net.home).gitdir, net.best, 'train.py') as string

describe('speculative verification', () => {
  let net: TestNetwork | undefined
  afterEach(async () => { await net?.stop(); net = undefined })

  it('verifies the next candidate on top of the one being verified, and merges it right after that one, without another job', async () => {
    const { net: n, second, start, authors, a, b, first, next, attest } = await chainOfTwo()
    net = n
    const store = net.running.coordinator.store
    expect(first).toMatchObject({ candidateSeq: a, baseline: start })
    // The second verifier gets B carried onto A, measured against A.
    const aCommit = store.candidate(a)?.commit_oid as string
    expect(next.baseline).toBe(aCommit)
    const copy = store.candidate(next.candidateSeq)
    expect(copy).toMatchObject({ origin_seq: b, parent_oid: aCommit, submitter: authors[1]?.publicKey })
    expect(net.running.coordinator.candidateStatus(b)).toMatchObject({ state: 'rebased', rebasedAs: next.candidateSeq })

    // B's copy passes first: it waits for A, saying so.
    expect(await attest(second, next, 0.2)).toBe('pending')
    expect(store.candidate(next.candidateSeq)).toMatchObject({ state: 'passed', verdict: { passedOn: aCommit } })
    expect(net.best).toBe(start)

    // A passes: A merges, and B's copy right after it, measured against A.
    expect(await attest(net.verifierIdentity, first, 0.1)).toBe('accepted')
    expect(net.best).toBe(copy?.commit_oid)
    expect(store.jobsFor(next.candidateSeq)).toHaveLength(1)
    expect(net.running.coordinator.status().merges).toBe(2)
    expect(store.candidate(next.candidateSeq)).toMatchObject({ state: 'merged', verdict: { state: 'accepted', baselineMetric: expect.any(Number) } })
    const text = await trainPy(net)
    expect(text).toContain('SALT = 7')
    expect(text).toContain('QUALITY = 0.8')
    // The ref a clone reads follows.
    expect(execFileSync('git', ['--git-dir', homePaths(net.home).gitdir, 'rev-parse', BEST_REF], { encoding: 'utf8' }).trim()).toBe(net.best)
    // Each author credited for its own verified gain.
    const credit = credits(store, net.running.coordinator.manifest)
    for (const [i, gain] of [[0, 0.1], [1, 0.2]] as const) {
      const c = credit.find((x) => x.publicKey === authors[i]?.publicKey)
      expect(c?.merges).toBe(1)
      expect(c?.verifiedGain).toBeCloseTo(gain + 0.001, 2)
    }
    expect(net.running.coordinator.speculation?.window).toBe(2)
    // The window is the home's: a restarted coordinator goes on from it (a fresh one starts at 1).
    await net.restart()
    expect(net.running.coordinator.speculation?.window).toBe(2)
  })

  it('a speculative lease that runs out is watched like any other: a held request takes its candidate back when it ends', async () => {
    const { net: n, first, next } = await chainOfTwo({ leaseSeconds: 3 })
    net = n
    const expiry = net.running.coordinator.leaseExpiry
    expect(first.leaseExpiresAt).toBeLessThanOrEqual(next.leaseExpiresAt)
    expect(expiry.due).toBe(first.leaseExpiresAt)
    // A's lease runs out with no request held: the timer is set again for the copy's lease on top of A
    // (before, only leases on the best were watched, and it stayed unset).
    for (const until = first.leaseExpiresAt + 15_000; expiry.due === first.leaseExpiresAt && Date.now() < until;) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(expiry.due).toBe(next.leaseExpiresAt)
    const host = await net.client(net.verifierIdentity)
    const { causeId } = net.running.coordinator
    expect((await host.lease(net.verifierIdentity, causeId, hardware)).job?.candidateSeq).toBe(first.candidateSeq)
    // Nothing else to do until the copy's lease ends (if it has not yet); then this held request is woken and takes it, measured against A.
    const again = (await host.lease(net.verifierIdentity, causeId, hardware, { waitMs: 20_000 })).job
    expect(again).toMatchObject({ candidateSeq: next.candidateSeq, baseline: first.candidate })
  })

  it('a change that conflicts with the one being verified is verified on the best beside it', async () => {
    const { net: n, second } = await twoVerifiers()
    net = n
    const start = net.best
    const a = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8), { claimedMetric: 1.0 })
    const b = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.7), { claimedMetric: 1.1 })
    const { lease } = verifiers(net)
    expect(await lease(net.verifierIdentity)).toMatchObject({ candidateSeq: a, baseline: start })
    expect(await lease(second)).toMatchObject({ candidateSeq: b, baseline: start })
    expect(net.state(b)).toBe('verifying')
  })

  it('when the one ahead is rejected, a candidate rejected on top of it goes back onto the best with its own change only, held against nobody', async () => {
    const { net: n, second, start, authors, a, b, first, next, lease, attest } = await chainOfTwo()
    net = n
    const store = net.running.coordinator.store
    expect(next.baseline).toBe(store.candidate(a)?.commit_oid)

    // On top of A, B's copy shows no gain (A's change spoils it, say): B's author is told the rejection is provisional, and keeps following it.
    expect(await attest(second, next, 0)).toBe('rejected')
    expect(store.identity(authors[1]?.publicKey as string).rejected).toBe(0)
    const asked = async (): Promise<CandidateStatusReply> => await (await n.client(authors[1] as Identity)).candidate(next.candidateSeq)
    expect(await asked()).toMatchObject({ state: 'rejected', provisional: true })
    // Nor does the public site show its change: it may yet be verified on the best.
    expect((await n.publicCandidate(next.candidateSeq)).diff).toBeNull()
    expect(await (await fetch(`${n.running.httpUrl}/candidates/${next.candidateSeq}`)).text()).toContain('Rejected on top of a candidate not merged')
    // Then A itself is rejected.
    expect(await attest(net.verifierIdentity, first, 0)).toBe('rejected')
    expect(net.best).toBe(start)
    expect(net.running.coordinator.speculation?.window).toBe(0)

    // The next lease carries B back onto the best (A's change left out) and verifies it there.
    const again = await lease(net.verifierIdentity) as Job
    expect(again.baseline).toBe(start)
    expect(store.candidate(again.candidateSeq)).toMatchObject({ origin_seq: b, parent_oid: start, tree_oid: store.candidate(b)?.tree_oid })
    expect(store.candidate(next.candidateSeq)?.state).toBe('rebased')
    expect(await asked()).toMatchObject({ state: 'rebased', rebasedAs: again.candidateSeq })
    // The window is 0 after the rejection: nothing more is carried onto a candidate in flight.
    const c = await net.submitEdit(Identity.generate(), setConstant('BONUS', 0.3), { claimedMetric: 1.2 })
    expect(await lease(second)).toMatchObject({ candidateSeq: c, baseline: start })

    expect(await attest(net.verifierIdentity, again, 0.2)).toBe('accepted')
    const text = await trainPy(net)
    expect(text).toContain('QUALITY = 0.8')
    expect(text).not.toContain('SALT = 7')
    expect(store.identity(authors[1]?.publicKey as string)).toMatchObject({ accepted: 1, rejected: 0 })
    expect(net.running.coordinator.speculation?.window).toBe(1)
  })
})
