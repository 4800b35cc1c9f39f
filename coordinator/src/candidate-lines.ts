import type { CandidateReport } from './admin.ts'

/** A figure rounded for a terminal: five significant digits, a dash when there is none. */
export const figure = (n: number | null | undefined): string => n === null || n === undefined ? '–' : Number(n.toPrecision(5)).toString()

/**
 * The `candidates` text view of one candidate: its state and claim, then the seeds, each
 * trial's pair of metrics, the medians and the paired test's figures, as far as
 * verification got (the same facts as `--json`, rounded).
 */
export function candidateLines (c: CandidateReport): string[] {
  const lines = [`#${c.seq} ${c.state} from ${c.submitter.slice(0, 10)} claimed ${figure(c.claimedMetric)}: ${c.description}`]
  if (c.seeds.length > 0) lines.push(`  seeds ${c.seeds.join(', ')} (${c.rounds} round${c.rounds === 1 ? '' : 's'})`)
  if (c.trials.length > 0) {
    lines.push(`  trials ${c.trials.length}: ${c.trials.map((t) => `seed ${t.seed} ${figure(t.baseline)} -> ${figure(t.candidate)}${t.failure === undefined ? '' : ` (${t.failure})`}`).join('; ')}`)
  }
  if (c.baselineMetric !== null || c.candidateMetric !== null) lines.push(`  baseline ${figure(c.baselineMetric)}, candidate ${figure(c.candidateMetric)}${c.claimContradicted ? ' (contradicts the claim)' : ''}`)
  const t = c.test
  if (t !== null) {
    lines.push(`  test: mean improvement ${figure(t.mean)} (sd ${figure(t.sd)}, n ${t.n}) against minImprovement ${figure(t.margin)}: t ${figure(t.t)}, p ${figure(t.pValue)} at ${figure(t.confidence * 100)}% confidence, ${t.passed ? 'passed' : 'not passed'}`)
  }
  if (c.reason !== null && c.reason !== '') lines.push(`  reason: ${c.reason}`)
  return lines
}
