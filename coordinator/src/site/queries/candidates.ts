import type { Hardware, SubmissionBody } from '@autoresearch/protocol'
import type { CandidateRow, CandidateState } from '../../store/index.ts'
import type { SiteDeps } from './deps.ts'

export interface CandidateSummary {
  seq: number
  commit: string
  parent: string
  submitter: string
  /** Name and team the submitter gave with this submission (free text, unverified). */
  submitterName: string | null
  team: string | null
  originSeq: number | null
  state: CandidateState
  reason: string | null
  description: string
  claimedMetric: number
  /** Mean candidate metric measured by verifiers (null until verified). */
  verifiedMetric: number | null
  baselineMetric: number | null
  meanImprovement: number | null
  claimContradicted: boolean
  receivedAt: number
  /** Time of the last attestation, when there is one. */
  verifiedAt: number | null
}

export interface Extras { name: string | null, team: string | null, hardware: Hardware | null, hasProfile: boolean }

const text = (v: string | undefined): string | null => v !== undefined && v.trim() !== '' ? v : null

/** What a submission says about its sender beyond the protocol's must-haves (all optional, all unverified). */
export function extrasOf (body: SubmissionBody): Extras {
  return { name: text(body.profile?.name), team: text(body.profile?.team), hardware: body.hardware ?? null, hasProfile: body.profile !== undefined }
}

export function summaryOf (c: CandidateRow, verifiedAt: number | null): CandidateSummary {
  const v = c.verdict
  const extras = extrasOf(c.submission.body)
  return {
    seq: c.seq, commit: c.commit_oid, parent: c.parent_oid, submitter: c.submitter, submitterName: extras.name, team: extras.team,
    originSeq: c.origin_seq, state: c.state, reason: c.reason,
    description: c.description, claimedMetric: c.claimed_metric, verifiedMetric: v?.candidateMetric ?? null, baselineMetric: v?.baselineMetric ?? null,
    meanImprovement: v?.meanImprovement ?? null, claimContradicted: v?.claimContradicted ?? false, receivedAt: c.received_at, verifiedAt
  }
}

/** Every candidate, oldest first. */
export function candidates (deps: Pick<SiteDeps, 'store'>): CandidateSummary[] {
  const times = deps.store.views.verifiedTimes()
  return deps.store.candidates().map((c) => summaryOf(c, times.get(c.seq) ?? null))
}

/** Per submitter: name, team and hardware from its latest submission that carried them. */
export function latestExtras (deps: Pick<SiteDeps, 'store'>): Map<string, Extras> {
  const out = new Map<string, Extras>()
  for (const r of deps.store.views.originalSubmissions()) {
    const e = extrasOf(r.body)
    const before = out.get(r.submitter)
    out.set(r.submitter, e.hasProfile || before === undefined ? { ...e, hardware: e.hardware ?? before?.hardware ?? null } : { ...before, hardware: e.hardware ?? before.hardware })
  }
  return out
}
