import { describe, expect, it } from 'vitest'
import { parseManifest } from '@autoresearch/protocol'
import { adoptedPosition, pendingToAdopt } from './adopt.ts'
import { beatsHere } from './submission.ts'
import type { Position } from '../state.ts'

const manifest = (direction: 'minimize' | 'maximize' = 'minimize') => parseManifest({
  name: 'c', editable: ['train.py'], train: { command: ['true'], timeoutSeconds: 10 }, evaluate: { command: ['true'], timeoutSeconds: 10 }, metric: { name: 'loss', direction },
  verification: { trials: 3, quorum: 1, confidence: 0.95, minImprovement: 0.05 }, collaboration: { buildOnPending: true }
})
const pending = (seq: number, claimedMetric: number, submitter = 'bob') => ({ seq, commit: String(seq).repeat(40).slice(0, 40), submitter, claimedMetric, description: `#${seq}` })
const base = { commit: 'b'.repeat(40), metric: 1.5 }

describe('the pending candidate a worker builds on', () => {
  it('is the first in verification order that claims to beat the base by the margin', () => {
    expect(pendingToAdopt(manifest(), { base, pending: [pending(3, 1.47), pending(4, 1.2), pending(5, 1.0)], self: 'alice', declined: new Set() })?.seq).toBe(4)
    expect(pendingToAdopt(manifest(), { base, pending: [pending(3, 1.47)], self: 'alice', declined: new Set() })).toBeUndefined()
    expect(pendingToAdopt(manifest('maximize'), { base, pending: [pending(3, 1.2), pending(4, 1.6)], self: 'alice', declined: new Set() })?.seq).toBe(4)
  })

  it("is never the worker's own, nor one it measured and set aside on this best", () => {
    const queue = [pending(3, 1.0, 'alice'), pending(4, 1.1), pending(5, 1.2)]
    expect(pendingToAdopt(manifest(), { base, pending: queue, self: 'alice', declined: new Set([4]) })?.seq).toBe(5)
    expect(pendingToAdopt(manifest(), { base, pending: [], self: 'alice', declined: new Set() })).toBeUndefined()
  })

  it('is built on only when it beats the base here by the margin and this machine\'s noise', () => {
    expect(beatsHere(manifest(), base.metric, 1.4, 0.01)).toBe(true)
    expect(beatsHere(manifest(), base.metric, 1.46, 0.01)).toBe(false)
    expect(beatsHere(manifest(), base.metric, 1.4, 0.2)).toBe(false)
  })

  it('stands in the position as if submitted: a later find goes on top of it and must beat it; it is never sent as the worker\'s own', () => {
    const at: Position = { base, seeds: { experiment: 1, confirm: 2 }, local: { ...base }, keptSinceBase: [], noise: 0.01 }
    const c = pending(4, 1.1)
    const next = adoptedPosition(at, c, { commit: c.commit, metric: 1.12 })
    expect(next).toMatchObject({
      base, local: { commit: c.commit, metric: 1.12 }, keptSinceBase: ['built on candidate #4: #4'],
      submittedLocal: c.commit, submittedCandidate: c.commit, lastClaim: 1.12, adopted: { seq: 4, commit: c.commit }
    })
    expect(at.adopted).toBeUndefined()
  })
})
