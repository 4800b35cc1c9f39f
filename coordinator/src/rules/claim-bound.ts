import { improvement, type Manifest } from '@autoresearch/protocol'
import type { PairedTest } from '../stats.ts'

/** The largest gain a submitter may claim over what verification measured: the mean gain plus four standard errors plus twice minImprovement. */
export function claimBound (test: PairedTest, minImprovement: number): number {
  return test.mean + 4 * test.sd / Math.sqrt(Math.max(1, test.n)) + 2 * minImprovement
}

/** What the claim bound reads of a candidate (a CandidateRow has it). */
export interface Claim {
  claimed_metric: number
  /** Set for a coordinator-made rebase: its claim is the original's, held against nobody. */
  origin_seq: number | null
}

/**
 * A claim far beyond what verification measured costs the submitter: the words added to
 * the verdict's reason, or null when the claim is within the bound, the candidate is a
 * coordinator rebase, or nothing was measured.
 */
export function claimContradiction (manifest: Manifest, claim: Claim, baselineMetric: number | null, test: PairedTest): string | null {
  if (claim.origin_seq !== null || baselineMetric === null) return null
  const claimedGain = improvement(manifest, baselineMetric, claim.claimed_metric)
  if (claimedGain <= claimBound(test, manifest.verification.minImprovement)) return null
  return `; claimed gain ${claimedGain.toPrecision(4)} is far beyond the measured ${test.mean.toPrecision(4)}`
}
