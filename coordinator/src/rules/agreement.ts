/**
 * Whether verifiers measured the same thing. Every verifier's gains (one per paired trial)
 * are compared by their means, with a tolerance of `max(2·minImprovement, 4·sd/√n)`.
 */
import { improvement, type Manifest, type Trial } from '@autoresearch/protocol'
import { mean, pooledVariance } from '../stats.ts'

/**
 * How far two verifiers' mean gains may be apart and still agree. The spread is that of
 * the gains around each verifier's own mean, pooled: the spread of all gains together is
 * the wrong yardstick, since a liar that scatters its invented gains widens it until its
 * gap to an honest verifier looks like noise (B6).
 */
export function tolerance (groups: number[][], minImprovement: number, fallbackSd: number): number {
  const within = pooledVariance(groups)
  const sd = within.dof > 0 ? Math.sqrt(within.variance) : fallbackSd
  const perVerifier = Math.max(1, Math.min(...groups.map((g) => g.length)))
  return Math.max(2 * minImprovement, 4 * sd / Math.sqrt(perVerifier))
}

/**
 * Verifiers whose own mean improvement is far from the median verifier's. With two
 * verifiers there is no median to trust: a gap between them is a split (another
 * verifier is asked) and nobody is blamed yet.
 */
export function disagreeing (gainsBy: Map<string, number[]>, minImprovement: number, fallbackSd: number): { split: boolean, outliers: string[] } {
  const verifiers = [...gainsBy.keys()]
  if (verifiers.length < 2) return { split: false, outliers: [] }
  const means = new Map([...gainsBy].map(([v, g]) => [v, mean(g)]))
  const tol = tolerance([...gainsBy.values()], minImprovement, fallbackSd)
  const sorted = [...means.values()].sort((a, b) => a - b)
  if (verifiers.length === 2) return { split: Math.abs((sorted[1] as number) - (sorted[0] as number)) > tol, outliers: [] }
  const median = sorted[Math.floor(sorted.length / 2)] as number
  const outliers = verifiers.filter((v) => Math.abs((means.get(v) as number) - median) > tol)
  return { split: outliers.length > 0, outliers }
}

/**
 * Whether a verifier under check (a newcomer's shadow job, or a spot check) measured what
 * the trusted verifiers of the same round measured, on the same seeds.
 */
export function agrees (subject: number[], references: number[][], minImprovement: number): boolean {
  const refs = references.filter((r) => r.length > 0)
  if (subject.length === 0 || refs.length === 0) return false
  const fallbackSd = Math.sqrt(pooledVariance([[subject, ...refs].flat()]).variance)
  const tol = tolerance([subject, ...refs], minImprovement, fallbackSd)
  return Math.abs(mean(subject) - mean(refs.flat())) <= tol
}

/** Trials of one attestation: gains where both metrics were measured, and whether all were. */
export interface MeasuredTrials { gains: number[], complete: boolean }

export function measuredTrials (manifest: Manifest, trials: Trial[]): MeasuredTrials {
  const complete = trials.filter((t): t is Trial & { baseline: number, candidate: number } => t.baseline !== null && t.candidate !== null)
  return { gains: complete.map((t) => improvement(manifest, t.baseline, t.candidate)), complete: complete.length === trials.length }
}

/**
 * Whether a checked attestation matches the references: both found the trials fail, or
 * both measured them and their gains agree. A failure where trusted verifiers measured
 * (or the reverse) is a disagreement.
 */
export function attestationAgrees (subject: MeasuredTrials, references: MeasuredTrials[], minImprovement: number): boolean {
  const alike = references.filter((r) => r.complete === subject.complete)
  if (alike.length === 0) return false
  if (!subject.complete) return true
  return agrees(subject.gains, alike.map((r) => r.gains), minImprovement)
}

/** A verifier's reputation moves up when it agreed with the others on a candidate, down when it was the outlier. */
export interface ReputationMove { verifier: string, agreed: boolean }

/** Reputation moves only where at least three verifiers measured the same candidate: with two, nobody can tell who is off. */
export function reputationMoves (verifiers: string[], outliers: string[]): ReputationMove[] {
  return verifiers.length >= 3 ? verifiers.map((verifier) => ({ verifier, agreed: !outliers.includes(verifier) })) : []
}
