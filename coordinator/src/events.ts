import type { PeerEvent } from './coordinator.ts'
import type { StoredVerdict } from './store/index.ts'

/** What the coordinator reports as it works (the `serve` command prints them, the site streams them). */
export type CoordinatorEvent =
  | { type: 'receipt', candidateSeq: number, submitter: string, claimedMetric: number, description: string }
  | { type: 'submission-rejected', error: string, message: string, submitter?: string }
  | { type: 'leased', jobId: number, candidateSeq: number, verifier: string }
  | { type: 'stale', candidateSeq: number, reason: string }
  /** `ownLines`: files where its own lines were kept over the new best's (verification.conflicts: candidate). */
  | { type: 'rebased', candidateSeq: number, newSeq: number, ownLines?: string[] }
  | { type: 'grouped', groupSeq: number, members: number[], kind: 'merge group' | 'batch' }
  | { type: 'best-changed', commit: string, seq: number, kind: 'merge' | 'revert' | 'program' }
  | { type: 'verdict', verdict: StoredVerdict }
  | { type: 'merged', mergeSeq: number, candidateSeq: number, commit: string, metric: number, baselineMetric: number }
  | { type: 'experiments-reported', worker: string, count: number, firstSeq: number }
  | { type: 'hypotheses-posted', author: string, ids: number[] }
  | { type: 'digest-written', seq: number }

const short = (hex: string): string => hex.slice(0, 10)

/** One human line per event, for the terminal. */
export function describeEvent (e: CoordinatorEvent): string {
  switch (e.type) {
    case 'receipt': return `receipt #${e.candidateSeq} from ${short(e.submitter)} claiming ${e.claimedMetric.toPrecision(5)}: ${e.description}`
    case 'submission-rejected': return `rejected submission${e.submitter === undefined ? '' : ` from ${short(e.submitter)}`}: ${e.error}: ${e.message}`
    case 'leased': return `job ${e.jobId} (candidate #${e.candidateSeq}) leased to verifier ${short(e.verifier)}`
    case 'stale': return `candidate #${e.candidateSeq} is stale: ${e.reason}`
    case 'verdict': return `verdict on candidate #${e.verdict.candidateSeq}: ${e.verdict.state}: ${e.verdict.reason}`
    case 'rebased': return `candidate #${e.candidateSeq} rebased onto the new best as candidate #${e.newSeq}${e.ownLines === undefined ? '' : `, its own lines kept where it conflicted (${e.ownLines.join(', ')})`}; verifying it again`
    case 'grouped': return e.kind === 'batch'
      ? `candidates ${e.members.map((m) => `#${m}`).join(', ')} combined into batch #${e.groupSeq}, verified once for all of them`
      : `candidates ${e.members.map((m) => `#${m}`).join(', ')}, passed on the old best, combined into merge group #${e.groupSeq} on the new one, verified once for all of them`
    case 'best-changed': return `announced new best ${short(e.commit)} (${e.kind} ${e.seq})`
    case 'experiments-reported': return `${e.count} experiment report(s) from ${short(e.worker)} (#${e.firstSeq}${e.count > 1 ? `–#${e.firstSeq + e.count - 1}` : ''})`
    case 'hypotheses-posted': return `hypotheses ${e.ids.map((id) => `#${id}`).join(', ')} posted by planner ${short(e.author)}`
    case 'digest-written': return `digest #${e.seq} written`
    case 'merged': return `MERGED candidate #${e.candidateSeq} as merge ${e.mergeSeq}: ${e.baselineMetric.toPrecision(5)} -> ${e.metric.toPrecision(5)} (commit ${short(e.commit)})`
  }
}

/** One line per peer event for the operator's terminal (`serve`). */
export function describePeerEvent (e: PeerEvent): string {
  if (e.type === 'peer') return `peer ${e.peer} ${e.change} (${e.address})`
  return `peers: ${e.connected} more connection(s) and ${e.disconnected} disconnection(s) in the last ${e.windowMs / 1000} s were not shown one by one`
}
