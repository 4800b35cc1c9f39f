/**
 * The verdict on a candidate whose round reached its quorum: one more round, rejected, or
 * passed (merged, or rebased first when the best moved meanwhile), with the numbers. The
 * handler (verification.ts `attest`) stores what this returns.
 */
import { confidenceAt, improvement, roundConfidence, type AcceptLook, type AttestationBody, type EarlyEnd, type Manifest, type Trial } from '@autoresearch/protocol'
import { MAX_ROUNDS } from '../policy.ts'
import { mean, pairedOneSidedTest, type PairedTest } from '../stats.ts'
import type { CandidateState, JobRole, StoredVerdict } from '../store/index.ts'
import { disagreeing, reputationMoves, type ReputationMove } from './agreement.ts'
import { claimContradiction, type Claim } from './claim-bound.ts'
import { extraRound } from './near-tie.ts'
import { seedSpread, type SeedSpread } from './seed-insensitivity.ts'

/** What the verdict reads of a candidate (a CandidateRow has it). */
export interface CandidateFacts extends Claim {
  seq: number
  /** The seeds of each round asked for so far. */
  seeds: number[][]
  rounds: number
  parent_oid: string
}

export type VerifiedTrial = Trial & { verifier: string }
type CompleteTrial = VerifiedTrial & { baseline: number, candidate: number }

export type Decision =
  /** One more round: the handler draws its seeds (`verdict.rounds` is its number). */
  | { kind: 'extend', verdict: StoredVerdict }
  | { kind: 'reject', verdict: StoredVerdict, reputation: ReputationMove[] }
  /** Passed against a parent that is no longer the best: the handler rebases it. */
  | { kind: 'rebase', verdict: StoredVerdict, reputation: ReputationMove[] }
  | { kind: 'merge', verdict: StoredVerdict, reputation: ReputationMove[], metric: number, baselineMetric: number }

/** A pending verdict that decides nothing yet. */
export function pendingVerdict (candidate: Pick<CandidateFacts, 'seq' | 'seeds' | 'rounds'>, reason: string): StoredVerdict {
  return { candidateSeq: candidate.seq, state: 'pending', meanImprovement: null, reason, seeds: candidate.seeds.flat(), trials: [], test: null, baselineMetric: null, candidateMetric: null, rounds: candidate.rounds, claimContradicted: false, disagreeing: [] }
}

/** Why an attestation decides nothing although it was recorded, or null when it counts. */
export function notCounted (role: JobRole | undefined, state: CandidateState, agreementsToTrust: number): string | null {
  if (role === 'shadow') return `recorded as a shadow job: a new verifier's attestations count after it agreed with trusted verifiers ${agreementsToTrust} times in a row`
  // A spot check whose key was demoted meanwhile may arrive after the decision.
  if (state !== 'queued' && state !== 'verifying') return `recorded after the decision (${state})`
  return null
}

/** Every trial of the counting attestations, with who measured it. */
export const trialsOf = (attestations: AttestationBody[]): VerifiedTrial[] =>
  attestations.flatMap((a) => a.trials.map((t) => ({ ...t, verifier: a.publicKey })))

/**
 * Decides a candidate from all its counting trials. An outlier verifier's trials do not
 * decide it (rules/agreement.ts); two camps, or a near-tie, get another round
 * (rules/near-tie.ts); a failed trial, a lasting split, a candidate that ignores the seed
 * (rules/seed-insensitivity.ts) or a gain the paired test cannot show above minImprovement
 * reject it; a claim far beyond the measured gain is marked (rules/claim-bound.ts). A job a
 * verifier ended early (`stopped`) with a rejection is rejected; one it ended with an
 * acceptance passes the same test as a whole round, which its early rule implies. The whole
 * round is tested at `roundConfidence` (its share of the false-acceptance rate: protocol's spending.ts).
 */
export interface DecideOptions {
  /** Rounds a candidate may get (policy.ts MAX_ROUNDS). */
  maxRounds?: number
  /** How and why a verifier ended its job before the last pair (protocol's `endsEarly`), when one did. */
  stopped?: EarlyEnd
  /** The rounds were split over several verifiers (rules/parts.ts): the seed spread is also pooled across machines. */
  splitRounds?: boolean
  /** Its parent is a candidate still ahead of it in verification (speculation): a pass waits for that one's merge. */
  ahead?: boolean
}

export function decide (manifest: Manifest, candidate: CandidateFacts, trials: VerifiedTrial[], best: string, { maxRounds = MAX_ROUNDS, stopped, splitRounds, ahead = false }: DecideOptions = {}): Decision {
  const { minImprovement } = manifest.verification
  const confidence = roundConfidence(manifest, candidate.rounds, maxRounds)
  const failed = trials.filter((t) => t.candidate === null || t.baseline === null)
  const measured = trials.filter((t): t is CompleteTrial => t.candidate !== null && t.baseline !== null)
  const gain = (t: CompleteTrial): number => improvement(manifest, t.baseline, t.candidate)
  const gainsBy = new Map<string, number[]>()
  for (const t of measured) gainsBy.set(t.verifier, [...(gainsBy.get(t.verifier) ?? []), gain(t)])
  const { split, outliers } = disagreeing(gainsBy, minImprovement, pairedOneSidedTest(measured.map(gain), minImprovement, confidence).sd)
  const complete = measured.filter((t) => !outliers.includes(t.verifier))
  const roundTest = pairedOneSidedTest(complete.map(gain), minImprovement, confidence)
  // A job ended by an acceptance passed its look, which spends `accept` of the rate on its
  // own (docs/trust.md, "Stopping early"): testing its pairs again at the round's share would
  // send a gain the look found beyond doubt to a near-tie round.
  const test = stopped?.verdict === 'accepted' ? lookTest(stopped.look, minImprovement) : roundTest
  const metrics = complete.length > 0 ? { baseline: mean(complete.map((t) => t.baseline)), candidate: mean(complete.map((t) => t.candidate)) } : null
  const spread = complete.length > 0 ? seedSpread(complete, manifest.verification.seedInsensitivity, { acrossMachines: splitRounds }) : null
  const base: StoredVerdict = {
    ...pendingVerdict(candidate, ''), trials, test, baselineMetric: metrics?.baseline ?? null, candidateMetric: metrics?.candidate ?? null, meanImprovement: metrics === null ? null : test.mean, disagreeing: outliers, seedSpread: spread
  }
  const seedInsensitive = spread?.insensitive === true
  const twoWaySplit = split && outliers.length === 0

  const why = extraRound({ failed: failed.length, rounds: candidate.rounds, maxRounds, seedInsensitive, twoWaySplit, test, minImprovement })
  if (why !== null) {
    const rounds = candidate.seeds.length + 1
    return { kind: 'extend', verdict: { ...base, state: 'pending', rounds, reason: `${why}: round ${rounds} of at most ${maxRounds} on fresh seeds` } }
  }
  const reputation = reputationMoves([...new Set(measured.map((t) => t.verifier))], outliers)
  // A job rejected early has too few pairs to bound a claim: a stop costs the submitter no more than a full round would.
  // One accepted early has at least two, which bound it as a whole round's do.
  const contradiction = stopped?.verdict !== 'rejected' ? claimContradiction(manifest, candidate, base.baselineMetric, roundTest) : null
  const marked = (v: StoredVerdict): StoredVerdict => contradiction === null ? v : { ...v, claimContradicted: true, reason: v.reason + contradiction }
  const rejection = rejectionReason(manifest, { failed, twoWaySplit, rounds: candidate.rounds, spread, test, stopped })
  if (rejection !== null || metrics === null) {
    return { kind: 'reject', reputation, verdict: marked({ ...base, state: 'rejected', reason: rejection ?? notBeaten(manifest, test, stopped) }) }
  }
  const early = stopped?.verdict === 'accepted' ? ` (accepted early: ${stopped.reason})` : ''
  const verdict = marked({ ...base, state: 'accepted', reason: `mean improvement ${test.mean.toPrecision(4)} over ${test.n} paired trials beats minImprovement ${minImprovement} (p=${test.pValue.toPrecision(3)})${early}` })
  if (candidate.parent_oid !== best) {
    const then = ahead ? 'a candidate still being verified: it merges as soon as that one does' : 'which is no longer the best: rebasing and verifying again'
    return { kind: 'rebase', reputation, verdict: { ...verdict, state: 'pending', ...(ahead ? { passedOn: candidate.parent_oid } : {}), reason: `passed against ${candidate.parent_oid.slice(0, 10)}, ${then} (${verdict.reason})` } }
  }
  return { kind: 'merge', reputation, verdict, metric: metrics.candidate, baselineMetric: metrics.baseline }
}

/** The test an accepting look made (protocol's `acceptLook`), in the verdict's terms. */
const lookTest = (look: AcceptLook, margin: number): PairedTest =>
  ({ n: look.k, mean: look.mean, sd: look.sd, margin, t: look.t, pValue: look.pValue, confidence: confidenceAt(look.level), passed: true })

/** Why a decided round rejects the candidate, or null when it passes. */
function rejectionReason (manifest: Manifest, r: { failed: VerifiedTrial[], twoWaySplit: boolean, rounds: number, spread: SeedSpread | null, test: PairedTest, stopped?: EarlyEnd }): string | null {
  if (r.failed.length > 0) return `${r.failed.length} trial(s) produced no metric: ${r.failed.map((t) => t.failure ?? 'unknown').join('; ').slice(0, 500)}`
  // Still two camps after the last round and no majority to tell which one lies: never merge on that.
  if (r.twoWaySplit) return `verifiers still disagree after ${r.rounds} rounds and no third measurement settled it`
  if (r.spread?.insensitive === true) return ignoresSeed(manifest, r.spread)
  return r.test.passed ? null : notBeaten(manifest, r.test, r.stopped)
}

function ignoresSeed (manifest: Manifest, spread: SeedSpread): string {
  const { varianceRatio, significance } = manifest.verification.seedInsensitivity
  return `the candidate's ${manifest.metric.name} barely varies across ${spread.seeds} seeds: its variance is ${(spread.ratio ?? 0).toPrecision(3)} times the baseline's, below ${varianceRatio} (F test p=${spread.pValue.toPrecision(3)} < ${significance}); it ignores AUTORESEARCH_SEED (a fixed lucky seed is not an improvement)`
}

const notBeaten = (manifest: Manifest, test: PairedTest, stopped?: EarlyEnd): string => stopped?.verdict === 'rejected'
  ? `stopped early: ${stopped.reason}`
  : `mean improvement ${test.mean.toPrecision(4)} over ${test.n} paired trials does not beat minImprovement ${manifest.verification.minImprovement} at confidence ${test.confidence} (p=${test.pValue.toPrecision(3)})`
