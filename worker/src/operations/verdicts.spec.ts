import { describe, expect, it } from 'vitest'
import type { CandidateStatusReply, CoordinatorClient } from '@autoresearch/protocol'
import { recorder } from '../../test/fakes.ts'
import { checkVerdicts } from './verdicts.ts'

type State = CandidateStatusReply['state']
const status = (seq: number, state: State, rebasedAs: number | null = null): CandidateStatusReply => ({ ok: true, seq, state, reason: null, rebasedAs, meanImprovement: null })
const clientOf = (states: Record<number, CandidateStatusReply>): Pick<CoordinatorClient, 'candidate'> => ({
  candidate: async (seq) => states[seq] ?? status(seq, 'queued')
})

describe('the verdicts on our submissions', () => {
  it('keeps asking about queued and verifying ones, follows a rebase, and reports each decided one', async () => {
    const { emit, events } = recorder()
    const pending = new Set([1, 2, 3, 4])
    const client = clientOf({ 1: status(1, 'verifying'), 3: status(3, 'merged'), 4: status(4, 'rebased', 9) })
    expect(await checkVerdicts({ client, emit }, pending)).toEqual({ claimWithdrawn: false })
    expect([...pending].sort()).toEqual([1, 2, 9])
    expect(events.map((e) => e.type === 'verdict' ? e.status.seq : e.type)).toEqual([3, 4])
  })

  it.each(['rejected', 'stale'] as const)('says a %s claim no longer stands', async (state) => {
    const pending = new Set([5])
    expect(await checkVerdicts({ client: clientOf({ 5: status(5, state) }), emit: () => {} }, pending)).toEqual({ claimWithdrawn: true })
    expect(pending.size).toBe(0)
  })
})
