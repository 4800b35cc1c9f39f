import { credits } from '../../admin.ts'
import { latestExtras } from './candidates.ts'
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
  accepted: number
  rejected: number
  contradicted: number
  banned: boolean
}

export interface TeamView { team: string, members: number, verifiedGain: number, merges: number, verificationRuns: number }

/** Everyone who submitted, verified or merged, by verified credit. */
export function contributors (deps: Pick<SiteDeps, 'store' | 'manifest'>): ContributorView[] {
  const extras = latestExtras(deps)
  const submitted = deps.store.views.submittedPerSubmitter()
  return credits(deps.store, deps.manifest)
    .map((c) => ({ ...c, submitted: submitted.get(c.publicKey) ?? 0 }))
    .filter((c) => c.submitted > 0 || c.verificationRuns > 0 || c.merges > 0)
    .map((c, i) => ({
      rank: i + 1, publicKey: c.publicKey, name: extras.get(c.publicKey)?.name ?? null, team: extras.get(c.publicKey)?.team ?? null, verifiedGain: c.verifiedGain, merges: c.merges, verificationRuns: c.verificationRuns, submitted: c.submitted,
      accepted: c.accepted, rejected: c.rejected, contradicted: c.contradicted, banned: c.banned
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
