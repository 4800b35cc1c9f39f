import { improvement, type Manifest } from '@autoresearch/protocol'

/** What queue order reads of a candidate (a CandidateRow has it). */
export interface Queued {
  seq: number
  claimed_metric: number
}

/**
 * Queue order: the best claim first, but a candidate displaces an earlier one only
 * when its claim is better by more than `epsilon` (the cause's minImprovement), so
 * shaving a hair off a pending claim never jumps the queue.
 */
export function queueOrder<C extends Queued> (manifest: Manifest, candidates: C[]): C[] {
  const epsilon = manifest.verification.minImprovement
  const better = (a: C, b: C): boolean => improvement(manifest, b.claimed_metric, a.claimed_metric) > epsilon
  const rest = [...candidates].sort((a, b) => a.seq - b.seq)
  const ordered: C[] = []
  while (rest.length > 0) {
    let pick = 0
    for (let i = 1; i < rest.length; i++) if (better(rest[i] as C, rest[pick] as C)) pick = i
    ordered.push(...rest.splice(pick, 1))
  }
  return ordered
}
