import { endsEarly, type EarlyEnd, type Manifest, type Trial } from '@autoresearch/protocol'

export type TrialReport =
  | { ok: true, stopped?: EarlyEnd }
  | { ok: false, problem: string }

/**
 * Whether an attestation's trials answer its job: one per seed in the job's order, or
 * fewer (still in that order) when protocol's `endsEarly` ends the job on exactly those
 * (`accept`: the job was one that may end with an acceptance, rules/accept-early.ts).
 * A verifier that skips pairs the rule does not let it skip is refused, not believed.
 */
export function trialReport (manifest: Manifest, seeds: number[], trials: Array<Pick<Trial, 'seed' | 'baseline' | 'candidate'>>, { accept = false }: { accept?: boolean } = {}): TrialReport {
  let next = 0
  for (const t of trials) {
    const at = seeds.indexOf(t.seed, next)
    if (at < 0) return { ok: false, problem: `attestation must report one trial per job seed, in order (${seeds.join(', ')}); fewer only where the sequential rule ends the job` }
    next = at + 1
  }
  if (trials.length === seeds.length) return { ok: true }
  const stopped = endsEarly(manifest, trials, seeds.length, { accept })
  if (stopped === null) return { ok: false, problem: `attestation reports ${trials.length} of its job's ${seeds.length} pairs, but the sequential rule does not end a job on those measurements` }
  return { ok: true, stopped }
}
