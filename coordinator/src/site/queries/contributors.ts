import { credits } from '../../admin.ts'
import { CANDIDATE_STATES, type CandidateState } from '../../store/index.ts'
import type { Extras } from './candidates.ts'
import type { SiteDeps } from './deps.ts'

export interface ContributorView {
  rank: number
  publicKey: string
  /** From the identity's latest submission; free text, unverified. */
  name: string | null
  team: string | null
  verifiedGain: number
  merges: number
  verificationRuns: number
  submitted: number
  /** The submitter's own submissions (coordinator rebases not counted) by the state each is in now. */
  states: Record<CandidateState, number>
  accepted: number
  rejected: number
  contradicted: number
  banned: boolean
}

export interface TeamView { team: string, members: number, verifiedGain: number, merges: number, verificationRuns: number }

/** Submissions in each state, every state present (zero when none). */
export const stateCounts = (counts: Partial<Record<CandidateState, number>> = {}): Record<CandidateState, number> =>
  Object.fromEntries(CANDIDATE_STATES.map((st) => [st, counts[st] ?? 0])) as Record<CandidateState, number>

type Credit = Pick<ReturnType<typeof credits>[number], 'publicKey' | 'verifiedGain' | 'merges' | 'verificationRuns' | 'accepted' | 'rejected' | 'contradicted' | 'banned'>

/**
 * Everyone who submitted, verified or merged, by verified credit. A submitter is listed
 * even when no verdict ever touched its identity's counters (its only submission went
 * stale, or still waits): credits() knows only identities with a row.
 */
export function contributors (deps: Pick<SiteDeps, 'store' | 'manifest'>, extras: ReadonlyMap<string, Extras>): ContributorView[] {
  const states = deps.store.views.submissionStatesPerSubmitter()
  const credited: Credit[] = credits(deps.store, deps.manifest)
  const known = new Set(credited.map((c) => c.publicKey))
  const unseen: Credit[] = [...states.keys()].filter((k) => !known.has(k)).map((publicKey) => ({
    publicKey, verifiedGain: 0, merges: 0, verificationRuns: 0, accepted: 0, rejected: 0, contradicted: 0, banned: false
  }))
  const submittedOf = (k: string): number => Object.values(states.get(k) ?? {}).reduce((a, n) => a + n, 0)
  return [...credited, ...unseen]
    .map((c) => ({ ...c, submitted: submittedOf(c.publicKey) }))
    .filter((c) => c.submitted > 0 || c.verificationRuns > 0 || c.merges > 0)
    .sort((a, b) => b.verifiedGain - a.verifiedGain || b.verificationRuns - a.verificationRuns || b.submitted - a.submitted)
    .map((c, i) => ({
      rank: i + 1, publicKey: c.publicKey, name: extras.get(c.publicKey)?.name ?? null, team: extras.get(c.publicKey)?.team ?? null, verifiedGain: c.verifiedGain, merges: c.merges, verificationRuns: c.verificationRuns, submitted: c.submitted,
      states: stateCounts(states.get(c.publicKey)), accepted: c.accepted, rejected: c.rejected, contradicted: c.contradicted, banned: c.banned
    }))
}

/** Teams by verified credit; null while no submitter has named one. */
export function teams (contributors: ContributorView[]): TeamView[] | null {
  const teams = new Map<string, TeamView>()
  for (const c of contributors) {
    if (c.team === null) continue
    const t = teams.get(c.team) ?? { team: c.team, members: 0, verifiedGain: 0, merges: 0, verificationRuns: 0 }
    t.members++
    t.verifiedGain += c.verifiedGain
    t.merges += c.merges
    t.verificationRuns += c.verificationRuns
    teams.set(c.team, t)
  }
  return teams.size === 0 ? null : [...teams.values()].sort((a, b) => b.verifiedGain - a.verifiedGain || b.merges - a.merges)
}
