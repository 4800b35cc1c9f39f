import { improvement, type Manifest } from '@autoresearch/protocol'

/**
 * Whether a queued candidate whose change conflicts with a newer best is carried with its own
 * lines where the two conflict (the cause declares `verification.conflicts: "candidate"`)
 * rather than sent back stale. Most such conflicts on a fast-moving best are another
 * searcher's change to the same lines merging first, often a smaller step the same way; the
 * candidate's lines then still say what its author measured. It is carried only while its
 * claim beats the new best's verified metric by the cause's margin: a claim the new best
 * already matches would mostly undo a verified gain and cost a job to find that out. Taking its
 * lines decides nothing: the copy is verified against the new best like any carry, and credited
 * only the gain measured there. `bestMetric` reads the new best's verified metric (none: an
 * imported best, or one a revert restored without one).
 */
export function carriesOwnLines (manifest: Pick<Manifest, 'metric' | 'verification'>, claimed: number, bestMetric: () => number | null | undefined): boolean {
  if (manifest.verification.conflicts !== 'candidate') return false
  // Read only where the cause declares the rule: every carry asks.
  const reference = bestMetric()
  if (reference === null || reference === undefined || !Number.isFinite(claimed)) return false
  return improvement(manifest, reference, claimed) >= manifest.verification.minImprovement
}
