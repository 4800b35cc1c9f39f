import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { describeHardware, Identity, sha256Hex, type Job } from '@autoresearch/protocol'
import { selectBackend } from '@autoresearch/runner'
import { Verifier, type VerifierEvent } from 'autoresearch-verifier'
import { countingBackend, type Tally } from '../bench/lib/sim-network.ts'
import { ROOT } from './processes.ts'
import { causeWith, setConstant, TestNetwork } from './network.ts'
import { until } from './until.ts'

/** The noisy test cause (5 pairs per job, minImprovement 0.02) with the sequential rule declared. */
// The paired gain's noise here is σ_own·√2 ≈ 0.007; 0.01 is on the cautious side.
const sequentialCause = (): string => causeWith(join(ROOT, 'tests', 'fixtures', 'noisy-cause'), { sequential: { noise: 0.01 } })

interface HandTrial { seed: number, baseline: number, candidate: number, baselineLogDigest: string, candidateLogDigest: string }

/** The host's verifier by hand: one leased job, a trial of it with a baseline of 1.5, and its attestation as sent. */
async function byHand (net: TestNetwork): Promise<{ job: Job, trial: (seed: number, candidate: number) => HandTrial, attest: (trials: HandTrial[]) => Promise<unknown> }> {
  const client = await net.client(net.verifierIdentity)
  const { causeId } = net.running.coordinator
  const { job } = await client.lease(net.verifierIdentity, causeId, describeHardware())
  if (job === null) throw new Error('no job was leased')
  return {
    job,
    trial: (seed, candidate) => ({ seed, baseline: 1.5 + seed / 1e6, candidate: candidate + seed / 1e6, baselineLogDigest: sha256Hex(''), candidateLogDigest: sha256Hex('') }),
    attest: async (trials) => await client.attest(net.verifierIdentity, { causeId, jobId: job.jobId, candidate: job.candidate, baseline: job.baseline, trials, hardware: describeHardware() })
  }
}

describe('sequential early stop', () => {
  let cause: string
  let net: TestNetwork | undefined
  beforeAll(() => { cause = sequentialCause() })
  afterAll(() => { rmSync(cause, { recursive: true, force: true }) })
  afterEach(async () => { await net?.stop(); net = undefined })

  const verifierWith = async (n: TestNetwork, tally: Tally, slots = 1): Promise<{ verifier: Verifier, events: VerifierEvent[] }> => {
    const train = (JSON.parse(readFileSync(join(cause, 'autoresearch.json'), 'utf8')) as { train: { command: string[] } }).train.command
    const verifier = new Verifier({
      client: await n.client(n.verifierIdentity), identity: n.verifierIdentity, stateDir: join(n.scratch, `v${slots}`),
      backend: countingBackend(selectBackend(), tally, train), slots, baselineCache: false
    })
    const events: VerifierEvent[] = []
    verifier.on('event', (e) => events.push(e))
    return { verifier, events }
  }

  it('rejects a clear loser after its first pair: 2 runs instead of 10, and the verdict says why', async () => {
    net = await TestNetwork.start(cause)
    const seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 1.3))
    const tally: Tally = { runs: 0, seconds: 0 }
    const { verifier, events } = await verifierWith(net, tally)
    expect(await verifier.runOnce()).toBe(0)
    expect(tally.runs).toBe(2)
    expect(events.find((e) => e.type === 'stopped')).toMatchObject({ pairs: 1, planned: 5 })
    const candidate = net.running.coordinator.store.candidate(seq)
    expect(candidate?.state).toBe('rejected')
    expect(candidate?.reason).toMatch(/^stopped early: after 1 of 5 pairs the mean gain -0\.[23]\d+ is so far below minImprovement 0\.02/)
    expect(net.running.coordinator.store.attestationsFor(seq)[0]?.body.trials).toHaveLength(1)
    // A rejection by the rule costs the submitter no claim contradiction on one pair.
    expect(candidate?.verdict?.claimContradicted).toBe(false)
  })

  it('with 2 slots stops the pair still running and reports only what the rule decided on', async () => {
    net = await TestNetwork.start(cause)
    const seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 1.3))
    const tally: Tally = { runs: 0, seconds: 0 }
    const { verifier } = await verifierWith(net, tally, 2)
    expect(await verifier.runOnce()).toBe(0)
    expect(net.state(seq)).toBe('rejected')
    const trials = net.running.coordinator.store.attestationsFor(seq)[0]?.body.trials ?? []
    expect(trials.length).toBeGreaterThanOrEqual(1)
    expect(trials.length).toBeLessThan(5)
    // Two slots start two pairs; after the stop no third one starts.
    expect(tally.runs).toBeLessThanOrEqual(4)
  })

  it('runs every pair of a winner and merges it', async () => {
    net = await TestNetwork.start(cause)
    const seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8))
    const tally: Tally = { runs: 0, seconds: 0 }
    const { verifier, events } = await verifierWith(net, tally)
    expect(await verifier.runOnce()).toBe(0)
    expect(tally.runs).toBe(10)
    expect(events.some((e) => e.type === 'stopped')).toBe(false)
    expect(net.state(seq)).toBe('merged')
  })

  it('refuses a short attestation the rule does not allow: a verifier may not skip pairs of a promising candidate', async () => {
    net = await TestNetwork.start(cause)
    const seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8))
    const { job, trial, attest } = await byHand(net)
    expect(job.candidateSeq).toBe(seq)
    await expect(attest([trial(job.seeds[0]!, 1.49)])).rejects.toMatchObject({ name: 'InvalidMessageError', message: expect.stringMatching(/reports 1 of its job's 5 pairs/) })
    await expect(attest([trial(job.seeds[1]!, 1.0), trial(job.seeds[0]!, 1.0)])).rejects.toMatchObject({ name: 'InvalidMessageError', message: expect.stringMatching(/in order/) })
    expect(net.state(seq)).toBe('verifying')
    // The same job, all its pairs: taken.
    const reply = await attest(job.seeds.map((s, i) => trial(s, 1.0 + i / 100))) as { verdict: { state: string } }
    expect(reply.verdict.state).toBe('accepted')
  })

  describe('with early acceptance declared (`sequential.accept`)', () => {
    let accepting: string
    beforeAll(() => { accepting = causeWith(join(ROOT, 'tests', 'fixtures', 'noisy-cause'), { sequential: { noise: 0.01, accept: 0.02 } }) })
    afterAll(() => { rmSync(accepting, { recursive: true, force: true }) })

    it('accepts a clear winner before its last pair and merges it; the verdict says so', async () => {
      net = await TestNetwork.start(accepting)
      const seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.5))
      const tally: Tally = { runs: 0, seconds: 0 }
      const train = (JSON.parse(readFileSync(join(accepting, 'autoresearch.json'), 'utf8')) as { train: { command: string[] } }).train.command
      const verifier = new Verifier({
        client: await net.client(net.verifierIdentity), identity: net.verifierIdentity, stateDir: join(net.scratch, 'v'),
        backend: countingBackend(selectBackend(), tally, train), baselineCache: false
      })
      const events: VerifierEvent[] = []
      verifier.on('event', (e) => events.push(e))
      expect(await verifier.runOnce()).toBe(0)
      const stop = events.find((e) => e.type === 'stopped')
      expect(stop).toMatchObject({ verdict: 'accepted', planned: 5 })
      const pairs = stop?.type === 'stopped' ? stop.pairs : 5
      expect(pairs).toBeLessThan(5)
      expect(tally.runs).toBe(2 * pairs)
      expect(net.state(seq)).toBe('merged')
      const candidate = net.running.coordinator.store.candidate(seq)
      expect(candidate?.verdict?.reason).toMatch(/\(accepted early: after [234] of 5 pairs the mean gain 0\.\d+ clears minImprovement 0\.02 beyond doubt/)
      expect(net.running.coordinator.store.attestationsFor(seq)[0]?.body.trials).toHaveLength(pairs)
    })

    it('a verifier warms only the seeds before the first look; a job that runs past it measures the later baselines itself', async () => {
      net = await TestNetwork.start(accepting)
      const { coordinator } = net.running
      coordinator.store.setSeedPool(net.best, [21, 22, 23, 24, 25])
      const client = await net.client(net.verifierIdentity)
      expect((await client.lease(net.verifierIdentity, coordinator.causeId, describeHardware(), { warm: true })).warm).toEqual({ best: net.best, seeds: [21, 22] })
      const verifier = new Verifier({ client, identity: net.verifierIdentity, stateDir: join(net.scratch, 'v') })
      const events: VerifierEvent[] = []
      verifier.on('event', (e) => events.push(e))
      const working = verifier.run({ maxJobs: 1 })
      await until(() => verifier.warmStats.runs === 2, 'the two seeds before the first look are warm', 120_000)
      const seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.5))
      expect(await working).toBe(1)
      const stop = events.find((e) => e.type === 'stopped')
      const pairs = stop?.type === 'stopped' ? stop.pairs : 5
      // Accepted at a look, or run to the end: either way the first two pairs cost only their candidates.
      expect(verifier.cacheStats).toEqual({ hits: 2, misses: pairs - 2 })
      expect(verifier.warmStats.runs).toBe(2)
      expect(net.state(seq)).toBe('merged')
    })

    it('takes a short attestation only where the rule accepts it, and marks only such jobs', async () => {
      net = await TestNetwork.start(accepting)
      const seq = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8))
      const { job, trial, attest } = await byHand(net)
      expect(job).toMatchObject({ candidateSeq: seq, acceptEarly: true })
      // A gain of 0.1 over two pairs is not beyond doubt (one degree of freedom): refused.
      await expect(attest([trial(job.seeds[0]!, 1.4), trial(job.seeds[1]!, 1.401)])).rejects.toMatchObject({ name: 'InvalidMessageError', message: expect.stringMatching(/reports 2 of its job's 5 pairs/) })
      // Three pairs of it, varying as the baseline does, are.
      const reply = await attest([trial(job.seeds[0]!, 1.4), trial(job.seeds[1]!, 1.401), trial(job.seeds[2]!, 1.399)]) as { verdict: { state: string, reason: string } }
      expect(reply.verdict).toMatchObject({ state: 'accepted', reason: expect.stringMatching(/accepted early: after 3 of 5 pairs/) })
    })

    it('a cause without it marks no job', async () => {
      net = await TestNetwork.start(cause)
      await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.8))
      const { job } = await (await net.client(net.verifierIdentity)).lease(net.verifierIdentity, net.running.coordinator.causeId, describeHardware())
      expect(job).not.toBeNull()
      expect(job?.acceptEarly).toBeUndefined()
    })
  })
})
