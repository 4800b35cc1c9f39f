import { MAX_BEST_RUNS, type BestRun } from '@autoresearch/protocol'
import type { AttestationRow, CandidateRow, MergeRow, Store } from './store/index.ts'

/**
 * The runs of a merged candidate that a worker may take as its own runs of the new best:
 * the candidate side of each trial of its verdict, with the hardware class of the verifier
 * that ran it. Trials of verifiers the verdict found disagreeing, and sides that produced no
 * metric, are left out; one figure per seed and class.
 */
export function verifiedRuns (verdict: CandidateRow['verdict'], attestations: Array<Pick<AttestationRow, 'verifier' | 'body'>>): BestRun[] {
  if (verdict === null || verdict.state !== 'accepted') return []
  const hardware = new Map(attestations.map((a) => [a.verifier, a.body.hardware.class]))
  const disagreeing = new Set(verdict.disagreeing)
  const runs: BestRun[] = []
  const seen = new Set<string>()
  for (const t of verdict.trials) {
    const cls = hardware.get(t.verifier)
    if (t.candidate === null || cls === undefined || disagreeing.has(t.verifier)) continue
    const key = `${t.seed}\u0000${cls}`
    if (seen.has(key)) continue
    seen.add(key)
    runs.push({ seed: t.seed, metric: t.candidate, hardware: cls })
    if (runs.length === MAX_BEST_RUNS) break
  }
  return runs
}

/**
 * The verified runs of the best a merge row names, remembered per row: a merge's verdict
 * never changes, and every worker asks for the best's runs on every step. The initial
 * commit and a revert have none (the best is then measured as before).
 */
export class BestRunsMemo {
  readonly #store: Pick<Store, 'candidate' | 'attestationsFor'>
  #for?: { seq: number, runs: BestRun[] }

  constructor (store: Pick<Store, 'candidate' | 'attestationsFor'>) {
    this.#store = store
  }

  runs (best: MergeRow): BestRun[] {
    if (this.#for?.seq === best.seq) return this.#for.runs
    const seq = best.kind === 'merge' ? best.candidate_seq : null
    const candidate = seq === null ? undefined : this.#store.candidate(seq)
    const runs = candidate === undefined ? [] : verifiedRuns(candidate.verdict, this.#store.attestationsFor(candidate.seq))
    this.#for = { seq: best.seq, runs }
    return runs
  }
}
