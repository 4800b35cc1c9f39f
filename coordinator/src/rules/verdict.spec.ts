import { endsEarly, normalDraw, parseManifest, prng, type EarlyEnd } from '@autoresearch/protocol'
import { describe, expect, it } from 'vitest'
import { decide, notCounted, pendingVerdict, trialsOf, type CandidateFacts, type VerifiedTrial } from './verdict.ts'

// minImprovement 1/16, so gains built from binary-exact numbers sit exactly on it.
const manifestInput = { name: 'toy', editable: ['train.py'], train: { command: ['python', 'train.py'] }, metric: { name: 'loss', direction: 'minimize', stdoutPattern: 'loss=(\\S+)' } }
const manifest = parseManifest({ ...manifestInput, verification: { minImprovement: 0.0625 } })
const BEST = 'b'.repeat(40)
const digest = 'd'.repeat(64)
/** One verifier's trials on seeds 100, 101, …: a baseline of 1 (unless given) and these candidate metrics. */
const by = (verifier: string, candidates: Array<number | null>, baseline: number | null = 1): VerifiedTrial[] =>
  candidates.map((candidate, i) => ({ seed: 100 + i, baseline, candidate, baselineLogDigest: digest, candidateLogDigest: digest, verifier }))
const candidate = (o: Partial<CandidateFacts> = {}): CandidateFacts => ({ seq: 7, seeds: [[100, 101, 102]], rounds: 1, claimed_metric: 0.5, origin_seq: null, parent_oid: BEST, ...o })
const lastRound = candidate({ seeds: [[100, 101, 102], [103, 104, 105], [106, 107, 108]], rounds: 3 })
const clear = [0.5, 0.49, 0.51]

describe('the verdict', () => {
  it('accepts a clear gain on the best and hands back the numbers to merge', () => {
    const d = decide(manifest, candidate(), by('a', clear), BEST)
    expect(d.kind).toBe('merge')
    if (d.kind !== 'merge') return
    expect(d.verdict).toMatchObject({ candidateSeq: 7, state: 'accepted', meanImprovement: 0.5, baselineMetric: 1, candidateMetric: 0.5, rounds: 1, claimContradicted: false, disagreeing: [], seeds: [100, 101, 102] })
    expect(d.verdict.reason).toMatch(/^mean improvement 0\.5000 over 3 paired trials beats minImprovement 0\.0625 \(p=[0-9.e-]+\)$/)
    expect(d.verdict.trials).toHaveLength(3)
    expect(d.metric).toBe(0.5)
    expect(d.baselineMetric).toBe(1)
    expect(d.reputation).toEqual([])
  })

  it('a pass against a parent that is no longer the best is sent to be rebased', () => {
    const d = decide(manifest, candidate({ parent_oid: 'a'.repeat(40) }), by('a', clear), BEST)
    expect(d.kind).toBe('rebase')
    expect(d.verdict.state).toBe('pending')
    expect(d.verdict.reason).toMatch(/^passed against aaaaaaaaaa, which is no longer the best: rebasing and verifying again \(mean improvement 0\.5000 over 3 paired trials beats minImprovement 0\.0625 \(p=.*\)\)$/)
  })

  it('a pass against a candidate still ahead in verification (speculation) waits for it, saying which', () => {
    const d = decide(manifest, candidate({ parent_oid: 'c'.repeat(40) }), by('a', clear), BEST, { ahead: true })
    expect(d.kind).toBe('rebase')
    expect(d.verdict).toMatchObject({ state: 'pending', passedOn: 'c'.repeat(40) })
    expect(d.verdict.reason).toMatch(/^passed against cccccccccc, a candidate still being verified: it merges as soon as that one does \(mean improvement/)
    // Without a pass there is nothing to wait for: a rejection is a rejection.
    expect(decide(manifest, candidate({ parent_oid: 'c'.repeat(40) }), by('a', [1, 1, 1]), BEST, { ahead: true }).kind).toBe('reject')
  })

  it('rejects a gain exactly at minImprovement, with no extra round', () => {
    const d = decide(manifest, candidate({ claimed_metric: 0.9375 }), by('a', [0.9375, 0.9375, 0.9375]), BEST)
    expect(d.kind).toBe('reject')
    expect(d.verdict.reason).toBe('mean improvement 0.06250 over 3 paired trials does not beat minImprovement 0.0625 at confidence 0.975 (p=1.00)')
    expect(d.verdict.state).toBe('rejected')
  })

  it('a job stopped early rejects with the rule\'s reason, and its one pair contradicts no claim', () => {
    const d = decide(manifest, candidate({ claimed_metric: 0.5 }), by('a', [1.5]), BEST, { stopped: { verdict: 'rejected', reason: 'after 1 of 3 pairs …' } })
    expect(d.kind).toBe('reject')
    expect(d.verdict.reason).toBe('stopped early: after 1 of 3 pairs …')
    expect(d.verdict.claimContradicted).toBe(false)
    // The same pair without the stop contradicts the claim: the bound has one pair and no spread.
    expect(decide(manifest, candidate({ claimed_metric: 0.5 }), by('a', [1.5]), BEST).verdict.claimContradicted).toBe(true)
  })

  it('a job accepted early merges on the look that ended it, saying so, even where the round\'s share would call its pairs a near-tie', () => {
    const accepting = parseManifest({ ...manifestInput, verification: { minImprovement: 0.0625, sequential: { noise: 0.01, accept: 0.02 } } })
    const early = (trials: VerifiedTrial[]): EarlyEnd => {
      const end = endsEarly(accepting, trials, 3, { accept: true })
      expect(end?.verdict).toBe('accepted')
      return end as EarlyEnd
    }
    const clearPairs = by('a', [0.5, 0.49])
    const d = decide(accepting, candidate(), clearPairs, BEST, { stopped: early(clearPairs) })
    expect(d.kind).toBe('merge')
    expect(d.verdict.reason).toMatch(/^mean improvement 0\.5050 over 2 paired trials beats minImprovement 0\.0625 \(p=.*\) \(accepted early: after 2 of 3 pairs .*\)$/)
    // The verdict's test is the look's: the declared noise as the spread, at accept / (trials − 2).
    expect(d.verdict.test).toMatchObject({ n: 2, sd: 0.01, confidence: 0.98, passed: true })
    expect(d.verdict.claimContradicted).toBe(false)
    // Two pairs bound a claim as a whole round's do: one of twice the gain is marked.
    expect(decide(accepting, candidate({ claimed_metric: 0 }), clearPairs, BEST, { stopped: early(clearPairs) }).verdict.claimContradicted).toBe(true)
    // Gains 0.5 and 0.455: the look's p (one degree of freedom) is 0.0172, under its level 0.02 and
    // over 0.015, the first round's share of what early acceptance leaves (half of 0.05 − 0.02).
    const closer = by('a', [0.5, 0.545])
    const accepted = decide(accepting, candidate(), closer, BEST, { stopped: early(closer) })
    expect(accepted.kind).toBe('merge')
    expect(accepted.verdict.test?.pValue).toBeGreaterThan(0.015)
    // The same pairs tested as a round of their own: a near-tie, and another round (what a job
    // accepted early got before, a whole job on fresh seeds).
    const asRound = decide(accepting, candidate(), closer, BEST)
    expect(asRound.kind).toBe('extend')
    expect(asRound.verdict.reason).toMatch(/^near-tie \(p=0\.0172\)/)
    // Three pairs whose p-value lies between 0.03 and 0.05, in a candidate's only round: they pass at 0.95 and not at 0.97.
    const between = by('a', [0.88, 0.85, 0.91])
    expect(decide(manifest, candidate(), between, BEST).verdict.test?.pValue).toBeGreaterThan(0.03)
    expect(decide(manifest, candidate(), between, BEST).verdict.test?.pValue).toBeLessThan(0.05)
    expect(decide(manifest, candidate(), between, BEST, { maxRounds: 1 }).kind).toBe('merge')
    expect(decide(accepting, candidate(), between, BEST, { maxRounds: 1 }).kind).toBe('reject')
  })

  it('rejects a failed trial at once, naming the failures', () => {
    const failed = [...by('a', [0.5, 0.5]), { ...by('a', [null])[0]!, seed: 102, failure: 'timeout' }, { ...by('a', [0.5], null)[0]!, seed: 103 }]
    const d = decide(manifest, candidate(), failed, BEST)
    expect(d.kind).toBe('reject')
    expect(d.verdict.reason).toBe('2 trial(s) produced no metric: timeout; unknown')
  })

  it('gives a near-tie another round on fresh seeds, and rejects it on the last round', () => {
    const nearTie = [1 - 0.125, 1 + 0.0625, 1 - 0.1875]
    const d = decide(manifest, candidate(), by('a', nearTie), BEST)
    expect(d.kind).toBe('extend')
    expect(d.verdict).toMatchObject({ state: 'pending', rounds: 2, seeds: [100, 101, 102] })
    expect(d.verdict.reason).toMatch(/^near-tie \(p=0\.\d+\): round 2 of at most 3 on fresh seeds$/)
    const last = decide(manifest, lastRound, by('a', nearTie), BEST)
    expect(last.kind).toBe('reject')
    // A later round tests at its share of the other half of the rate (protocol's spending.ts).
    expect(last.verdict.reason).toMatch(/does not beat minImprovement 0\.0625 at confidence 0\.9875/)
    // The number of rounds is the caller's: here at most two.
    const second = decide(manifest, candidate({ seeds: [[100, 101, 102], [103, 104, 105]], rounds: 2 }), by('a', nearTie), BEST, { maxRounds: 2 })
    expect(second.kind).toBe('reject')
    expect(second.verdict.test?.confidence).toBe(0.975)
  })

  it('keeps the declared false-acceptance rate over all of a candidate\'s rounds, and a near-tie\'s later rounds still pass a real gain', () => {
    // Candidates judged round by round as the coordinator does, near-ties extended on fresh
    // seeds: one whose true gain is exactly minImprovement must pass at most 1 − confidence
    // of the time over all rounds (testing every round at 0.95 passed 10.7 %: docs/trust.md).
    const uniform = prng(20261204)
    const judge = (gain: number, noise: number): { merged: boolean, rounds: number } => {
      const trials: VerifiedTrial[] = []
      let facts = candidate({ seeds: [], rounds: 1, claimed_metric: 1 - gain })
      for (;;) {
        const seeds = [0, 1, 2].map((i) => 100 + trials.length + i)
        for (const seed of seeds) {
          const baseline = 1 + 0.02 * normalDraw(uniform)
          trials.push({ seed, baseline, candidate: baseline - gain - noise * normalDraw(uniform), baselineLogDigest: digest, candidateLogDigest: digest, verifier: 'a' })
        }
        facts = { ...facts, seeds: [...facts.seeds, seeds] }
        const d = decide(manifest, facts, trials, BEST)
        if (d.kind !== 'extend') return { merged: d.kind === 'merge', rounds: facts.seeds.length }
        facts = { ...facts, rounds: d.verdict.rounds }
      }
    }
    const runs = 20_000
    const atMargin = Array.from({ length: runs }, () => judge(0.0625, 0.02))
    // Binomial sd at 5 % over 20,000: 0.15 %.
    expect(atMargin.filter((r) => r.merged).length / runs).toBeLessThan(0.05 + 0.0046)
    expect(atMargin.some((r) => r.rounds === 3)).toBe(true)
    // A true gain 2.5 pair noises above the margin: later rounds pass most of what the first leaves.
    const real = Array.from({ length: 2_000 }, () => judge(0.0625 + 0.05, 0.02))
    expect(real.filter((r) => r.merged).length / real.length).toBeGreaterThan(0.9)
  })

  it('a two-way split gets another round, and is rejected if it lasts to the last round; nobody is blamed', () => {
    const split = [...by('a', clear), ...by('b', [1, 0.99, 1.01])]
    const d = decide(manifest, candidate(), split, BEST)
    expect(d.kind).toBe('extend')
    expect(d.verdict.reason).toBe('verifiers disagree: round 2 of at most 3 on fresh seeds')
    const last = decide(manifest, lastRound, split, BEST)
    expect(last.kind).toBe('reject')
    expect(last.verdict.reason).toBe('verifiers still disagree after 3 rounds and no third measurement settled it')
    expect(last.verdict.disagreeing).toEqual([])
    if (last.kind === 'reject') expect(last.reputation).toEqual([])
  })

  it('an outlier among three is left out of the decision and loses reputation; the others gain it', () => {
    const d = decide(manifest, candidate(), [...by('a', clear), ...by('liar', [2, 2, 2]), ...by('b', [0.5, 0.5, 0.5])], BEST)
    expect(d.kind).toBe('merge')
    expect(d.verdict.disagreeing).toEqual(['liar'])
    expect(d.verdict.trials).toHaveLength(9)
    expect(d.verdict.test?.n).toBe(6)
    if (d.kind === 'merge') expect(d.reputation).toEqual([{ verifier: 'a', agreed: true }, { verifier: 'liar', agreed: false }, { verifier: 'b', agreed: true }])
  })

  it('rejects a candidate that ignores the seed, even with a gain', () => {
    const baseline = [0.0759, 0.0840, 0.0886, 0.1021, 0.0815, 0.0883, 0.0755, 0.0963]
    const trials = baseline.map((b, i) => ({ ...by('a', [0.05], b)[0]!, seed: 100 + i }))
    const d = decide({ ...manifest, verification: { ...manifest.verification, minImprovement: 0.005 } }, candidate(), trials, BEST)
    expect(d.kind).toBe('reject')
    expect(d.verdict.seedSpread?.insensitive).toBe(true)
    expect(d.verdict.reason).toBe('the candidate\'s loss barely varies across 8 seeds: its variance is 0.00 times the baseline\'s, below 0.05 (F test p=0.00 < 0.01); it ignores AUTORESEARCH_SEED (a fixed lucky seed is not an improvement)')
  })

  it('marks a claim far beyond the measured gain, accepted or rejected, but never a rebase\'s', () => {
    const far = candidate({ claimed_metric: 0.125 })
    const accepted = decide(manifest, far, by('a', clear), BEST)
    expect(accepted.kind).toBe('merge')
    expect(accepted.verdict.claimContradicted).toBe(true)
    expect(accepted.verdict.reason).toMatch(/beats minImprovement 0\.0625 \(p=.*\); claimed gain 0\.8750 is far beyond the measured 0\.5000$/)
    const rejected = decide(manifest, far, by('a', [0.9375, 0.9375, 0.9375]), BEST)
    expect(rejected.verdict.claimContradicted).toBe(true)
    expect(rejected.verdict.reason).toMatch(/\(p=1\.00\); claimed gain 0\.8750 is far beyond the measured 0\.06250$/)
    expect(decide(manifest, { ...far, origin_seq: 3 }, by('a', clear), BEST).verdict.claimContradicted).toBe(false)
  })
})

describe('attestations that decide nothing', () => {
  it('a shadow job\'s, and one that arrives after the decision', () => {
    expect(notCounted('shadow', 'queued', 5)).toBe('recorded as a shadow job: a new verifier\'s attestations count after it agreed with trusted verifiers 5 times in a row')
    expect(notCounted('spot-check', 'merged', 5)).toBe('recorded after the decision (merged)')
    expect(notCounted(undefined, 'rejected', 5)).toBe('recorded after the decision (rejected)')
    expect(notCounted('spot-check', 'verifying', 5)).toBeNull()
    expect(notCounted(undefined, 'queued', 5)).toBeNull()
  })

  it('a pending verdict carries the candidate\'s seeds and rounds, and no numbers', () => {
    expect(pendingVerdict(lastRound, '1 of 2 attestations in round 3')).toEqual({
      candidateSeq: 7, state: 'pending', meanImprovement: null, reason: '1 of 2 attestations in round 3', seeds: [100, 101, 102, 103, 104, 105, 106, 107, 108], trials: [], test: null, baselineMetric: null, candidateMetric: null, rounds: 3, claimContradicted: false, disagreeing: []
    })
  })

  it('trials are gathered from every attestation with who measured them', () => {
    const trial = { seed: 1, baseline: 1, candidate: 0.5, baselineLogDigest: digest, candidateLogDigest: digest }
    const body = (publicKey: string) => ({ publicKey, trials: [trial] }) as unknown as Parameters<typeof trialsOf>[0][number]
    expect(trialsOf([body('a'), body('b')]).map((t) => t.verifier)).toEqual(['a', 'b'])
  })
})
