import type { BestRun, Manifest } from '@autoresearch/protocol'
import { verifiedRuns } from '../../best-runs.ts'
import { referenceClass } from '../../rules/hardware-class.ts'
import type { SiteDeps } from './deps.ts'

/** The newest standing best verified on one hardware class, with its metric as that class measured it. */
export interface ClassBest {
  class: string
  /** The merge's number (0 is the initial commit), its commit and candidate. */
  mergeSeq: number
  commit: string
  candidateSeq: number
  mergedAt: number
  /** The mean of the candidate side of the verifying trials run on this class. */
  metric: number
  /** How many seeds this class ran for that verdict. */
  runs: number
}

export interface HardwareView {
  /** The manifest's `hardware.matters`. */
  matters: Manifest['hardware']['matters']
  /** For a `class` cause, the class it is verified on; null for `any`, and until the first verifier asks. */
  reference: string | null
  /** One row per class that verified a standing merge, the reference first, then by newest merge. */
  classes: ClassBest[]
}

/** What bestPerClass reads of a merge: its place, and the verified runs of the candidate it merged. */
export interface VerifiedMerge { mergeSeq: number, commit: string, candidateSeq: number, mergedAt: number, runs: BestRun[] }

/**
 * Per hardware class, the newest of `merges` (oldest first, standing ones) that the class
 * verified, with the mean of its runs there: like a leaderboard per tier, each figure measured
 * on its own class, so figures of different classes are not compared with each other.
 */
export function bestPerClass (merges: VerifiedMerge[], reference: string | null = null): ClassBest[] {
  const out = new Map<string, ClassBest>()
  for (const m of [...merges].reverse()) {
    const byClass = new Map<string, number[]>()
    for (const r of m.runs) byClass.set(r.hardware, [...(byClass.get(r.hardware) ?? []), r.metric])
    for (const [cls, metrics] of byClass) {
      if (out.has(cls)) continue
      out.set(cls, { class: cls, mergeSeq: m.mergeSeq, commit: m.commit, candidateSeq: m.candidateSeq, mergedAt: m.mergedAt, metric: metrics.reduce((a, b) => a + b, 0) / metrics.length, runs: metrics.length })
    }
  }
  const rows = [...out.values()]
  return [...rows.filter((r) => r.class === reference), ...rows.filter((r) => r.class !== reference)]
}

/** The cause's hardware classes: how hardware matters, its reference class, and the best verified on each class. */
export function hardware (deps: Pick<SiteDeps, 'store' | 'manifest'>): HardwareView {
  const { store, manifest } = deps
  const merges = store.merges().flatMap((m): VerifiedMerge[] => {
    if (m.kind !== 'merge' || m.reverted_at !== null || m.candidate_seq === null) return []
    const c = store.candidate(m.candidate_seq)
    if (c === undefined) return []
    return [{ mergeSeq: m.index, commit: m.commit_oid, candidateSeq: c.seq, mergedAt: m.merged_at, runs: verifiedRuns(c.verdict, store.attestationsFor(c.seq)) }]
  })
  const reference = referenceClass(manifest.hardware, store.hardwareReference()) ?? null
  return { matters: manifest.hardware.matters, reference, classes: bestPerClass(merges, reference) }
}
