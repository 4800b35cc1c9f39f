import { describe, expect, it } from 'vitest'
import { stateCounts, teams, type ContributorView } from './contributors.ts'

const contributor = (publicKey: string, team: string | null, verifiedGain: number, merges: number, verificationRuns = 0): ContributorView => ({
  rank: 0, publicKey, name: null, team, verifiedGain, merges, verificationRuns, submitted: 1, states: stateCounts({ merged: merges }), accepted: merges, rejected: 0, contradicted: 0, banned: false
})

describe('teams view', () => {
  it('is null until someone names a team', () => {
    expect(teams([contributor('a', null, 1, 1)])).toBeNull()
  })

  it('sums members by team and ranks teams by verified gain, then merges', () => {
    const rows = [contributor('a', 'x', 0.25, 1, 4), contributor('b', 'y', 0.3, 1), contributor('c', 'x', 0.25, 2), contributor('d', null, 5, 5), contributor('e', 'z', 0.3, 3)]
    expect(teams(rows)).toEqual([
      { team: 'x', members: 2, verifiedGain: 0.5, merges: 3, verificationRuns: 4 },
      { team: 'z', members: 1, verifiedGain: 0.3, merges: 3, verificationRuns: 0 },
      { team: 'y', members: 1, verifiedGain: 0.3, merges: 1, verificationRuns: 0 }
    ])
  })
})
