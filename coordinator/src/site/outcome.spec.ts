import { describe, expect, it } from 'vitest'
import { CANDIDATE_STATES } from '../store/index.ts'
import { outcomeOf } from './outcome.ts'

describe('a candidate\'s outcome', () => {
  it('calls only queued, verifying and passed candidates pending', () => {
    const pending = CANDIDATE_STATES.filter((s) => outcomeOf(s, 1, [1]).pending)
    expect(pending).toEqual(['queued', 'verifying', 'passed'])
  })

  it('says a stale candidate is closed and will not be verified, never "not yet"', () => {
    const o = outcomeOf('stale', 1, [4, 5])
    expect(o.title).toBe('Stale')
    expect(o.noVerdict).toMatch(/will not be verified/)
    expect(`${o.text} ${o.noVerdict}`).not.toMatch(/yet/)
  })

  it('gives every terminal state a line of its own instead of the pending one', () => {
    const terminal = CANDIDATE_STATES.filter((s) => !outcomeOf(s, 1, [1]).pending)
    expect(terminal).toEqual(['merged', 'rejected', 'stale', 'rebased', 'reverted'])
    for (const s of terminal) expect(outcomeOf(s, 2, [7, 8]).noVerdict, s).not.toMatch(/yet|seeds 7, 8/)
    expect(outcomeOf('queued', 2, [7, 8]).noVerdict).toBe('No verdict yet (2 round(s) asked for, seeds 7, 8).')
  })

  it('says a rejection measured on top of a candidate not merged may still be verified on the best', () => {
    const o = outcomeOf('rejected', 1, [1], { provisional: true })
    expect(o).toMatchObject({ pending: true, tone: 'pending' })
    expect(o.text).toMatch(/carried back onto the best/)
    expect(outcomeOf('rejected', 1, [1], { provisional: false }).pending).toBe(false)
  })

  it('says a pass waiting for a larger merge group what happens either way', () => {
    const o = outcomeOf('passed', 1, [1], { heldFor: 42 })
    expect(o).toMatchObject({ pending: true, tone: 'pending', title: 'Passed, waiting for a larger merge group' })
    expect(o.text).toMatch(/merge group #42.*If that group merges, this change goes on in the next group.*if not, this candidate merges on the trials it already passed/)
    expect(outcomeOf('passed', 1, [1]).title).toBe('Passed against an older best')
  })

  it('says a queued candidate built on its author\'s undecided candidate waits for that one, and what happens either way', () => {
    const o = outcomeOf('queued', 1, [1], { waitsFor: 7 })
    expect(o).toMatchObject({ pending: true, tone: 'pending', title: 'Waiting for the candidate it builds on' })
    expect(o.text).toMatch(/candidate #7.*If that one merges, this candidate is verified against it.*if not, its own change is carried onto the best/)
    expect(outcomeOf('queued', 1, [1], { waitsFor: null }).title).toBe('Waiting for a verifier')
  })
})
