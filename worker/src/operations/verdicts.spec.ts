import { describe, expect, it } from 'vitest'
import { UnknownCandidateError, type CandidateStatusReply, type CoordinatorClient } from '@autoresearch/protocol'
import { recorder } from '../../test/fakes.ts'
import { checkVerdicts, forgetTried } from './verdicts.ts'

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
    expect(await checkVerdicts({ client, emit }, pending)).toEqual({ claimWithdrawn: false, released: [], rejected: [] })
    expect([...pending].sort()).toEqual([1, 2, 9])
    expect(events.map((e) => e.type === 'verdict' ? e.status.seq : e.type)).toEqual([3, 4])
  })

  it.each(['rejected', 'stale'] as const)('says a %s claim no longer stands', async (state) => {
    const pending = new Set([5])
    expect(await checkVerdicts({ client: clientOf({ 5: status(5, state) }), emit: () => {} }, pending)).toEqual({ claimWithdrawn: true, released: [], rejected: [] })
    expect(pending.size).toBe(0)
  })

  it('releases the files of a submission that went stale, followed through a rebase, and never those of a rejected one (it names them as rejected)', async () => {
    const pending = new Set([1, 2, 3])
    const trees = new Map([[1, 'tree-a'], [2, 'tree-b'], [3, 'tree-c']])
    const client = clientOf({ 1: status(1, 'rebased', 7), 2: status(2, 'rejected'), 3: status(3, 'stale') })
    expect(await checkVerdicts({ client, emit: () => {} }, pending, { trees })).toEqual({ claimWithdrawn: true, released: ['tree-c'], rejected: ['tree-b'] })
    expect([...trees]).toEqual([[7, 'tree-a']])
    // The copy the coordinator carried #1 as goes stale in turn: #1's files are free again.
    expect(await checkVerdicts({ client: clientOf({ 7: status(7, 'stale') }), emit: () => {} }, pending, { trees })).toEqual({ claimWithdrawn: true, released: ['tree-a'], rejected: [] })
    expect(trees.size).toBe(0)
  })

  it('keeps following a provisional rejection (on top of a candidate not yet merged) to the copy the coordinator carries back', async () => {
    const { emit, events } = recorder()
    const pending = new Set([6])
    const trees = new Map([[6, 'tree-f']])
    expect(await checkVerdicts({ client: clientOf({ 6: { ...status(6, 'rejected'), provisional: true } }), emit }, pending, { trees })).toEqual({ claimWithdrawn: false, released: [], rejected: [] })
    expect([...pending]).toEqual([6])
    expect(events).toHaveLength(0)
    // The candidate it was measured on failed: #6 goes back onto the best as #8.
    expect(await checkVerdicts({ client: clientOf({ 6: status(6, 'rebased', 8) }), emit }, pending, { trees })).toEqual({ claimWithdrawn: false, released: [], rejected: [] })
    expect([...pending]).toEqual([8])
    expect([...trees]).toEqual([[8, 'tree-f']])
  })

  it('drops, and frees the files of, a submission the coordinator does not know (a state directory that outlived its network)', async () => {
    const pending = new Set([4, 5])
    const trees = new Map([[4, 'tree-d'], [5, 'tree-e']])
    const client: Pick<CoordinatorClient, 'candidate'> = {
      candidate: async (seq) => {
        if (seq === 4) throw new UnknownCandidateError('there is no candidate #4')
        return status(seq, 'queued')
      }
    }
    expect(await checkVerdicts({ client, emit: () => {} }, pending, { trees })).toEqual({ claimWithdrawn: true, released: ['tree-d'], rejected: [] })
    expect([...pending]).toEqual([5])
    expect([...trees]).toEqual([[5, 'tree-e']])
  })

  it('passes on any other failure (the next step asks again)', async () => {
    const pending = new Set([4])
    const client: Pick<CoordinatorClient, 'candidate'> = { candidate: async () => { throw new Error('connection reset') } }
    await expect(checkVerdicts({ client, emit: () => {} }, pending)).rejects.toThrow('connection reset')
    expect([...pending]).toEqual([4])
  })
})

describe('local bests tried before', () => {
  it('forgets those whose files were released (a submission that went stale), and only those', async () => {
    const tried = new Set(['c1', 'c2', 'c3'])
    const trees: Record<string, string> = { c1: 'tree-a', c2: 'tree-b' }
    await forgetTried(tried, ['tree-b'], async (commit) => trees[commit])
    expect([...tried]).toEqual(['c1', 'c3'])
    await forgetTried(tried, [], async () => { throw new Error('not read when nothing was released') })
    expect([...tried]).toEqual(['c1', 'c3'])
  })
})
