import { describe, expect, it } from 'vitest'
import { parseManifest } from '@autoresearch/protocol'
import { manifestOf } from '../../test/fakes.ts'
import type { Position } from '../state.ts'
import { BEYOND_DOUBT, beyondDoubtHere, submissionFields, worthSubmitting } from './submission.ts'

const manifest = manifestOf({ minImprovement: 0.1 })
const position = (local: number, extra: Partial<Position> = {}): Omit<Position, 'seeds'> => ({ base: { commit: 'b', metric: 1 }, local: { commit: 'l', metric: local }, keptSinceBase: ['x'], noise: null, ...extra })

describe('whether a local gain is worth submitting', () => {
  it('needs a local best other than the base, not tried before, beyond the margin', () => {
    expect(worthSubmitting(manifest, position(0.8), new Set())).toBe(true)
    expect(worthSubmitting(manifest, position(0.95), new Set())).toBe(false)
    expect(worthSubmitting(manifest, position(0.8), new Set(['l']))).toBe(false)
    expect(worthSubmitting(manifest, { ...position(0.8), local: { commit: 'b', metric: 0.8 } }, new Set())).toBe(false)
  })

  it('not when this worker already submitted the same files (the coordinator carries that candidate onto the new best)', () => {
    expect(worthSubmitting(manifest, position(0.8), new Set(), true)).toBe(false)
  })

  it('not when every edit of the local best is in a submission still pending (carried onto a new best with it)', () => {
    expect(worthSubmitting(manifest, position(0.8, { submittedLocal: 'l' }), new Set())).toBe(false)
    expect(worthSubmitting(manifest, position(0.8, { submittedLocal: 'k' }), new Set())).toBe(true)
  })

  it('needs a gain beyond this machine\'s own noise too', () => {
    expect(worthSubmitting(manifest, position(0.8, { noise: 0.3 }), new Set())).toBe(false)
    expect(worthSubmitting(manifest, position(0.6, { noise: 0.3 }), new Set())).toBe(true)
  })

  it('needs a second claim on the same base to beat the first by the margin', () => {
    expect(worthSubmitting(manifest, position(0.75, { lastClaim: 0.8 }), new Set())).toBe(false)
    expect(worthSubmitting(manifest, position(0.65, { lastClaim: 0.8 }), new Set())).toBe(true)
  })
})

describe('a gain beyond doubt on one seed (no confirmation run)', () => {
  const declaring = (noise?: number, direction: 'minimize' | 'maximize' = 'minimize') => parseManifest({
    name: 't', editable: ['train.py'], train: { command: ['python3', 'train.py'] }, evaluate: { command: ['python3', 'evaluate.py'] },
    metric: { name: 'loss', direction }, verification: { minImprovement: 0.05, ...(noise === undefined ? {} : { sequential: { noise } }) }
  })

  it('only where the cause declares the spread of one paired gain', () => {
    expect(beyondDoubtHere(declaring(), 10, 1, 0.001)).toBe(false)
    expect(beyondDoubtHere(declaring(0.01), 10, 1, 0.001)).toBe(true)
  })

  it('beyond the margin by BEYOND_DOUBT spreads, the declared one or this machine\'s own paired (σ√2), whichever is larger', () => {
    const bound = 0.05 + BEYOND_DOUBT * 0.01
    expect(beyondDoubtHere(declaring(0.01), 1, 1 - bound - 1e-6, null)).toBe(true)
    expect(beyondDoubtHere(declaring(0.01), 1, 1 - bound + 1e-6, null)).toBe(false)
    // This machine's σ of 0.02 makes a paired gain's spread 0.0283, above the declared 0.01.
    const own = 0.05 + BEYOND_DOUBT * Math.SQRT2 * 0.02
    expect(beyondDoubtHere(declaring(0.01), 1, 1 - bound - 1e-6, 0.02)).toBe(false)
    expect(beyondDoubtHere(declaring(0.01), 1, 1 - own - 1e-6, 0.02)).toBe(true)
  })

  it('in the metric\'s direction', () => {
    expect(beyondDoubtHere(declaring(0.01, 'maximize'), 1, 2, null)).toBe(true)
    expect(beyondDoubtHere(declaring(0.01, 'maximize'), 2, 1, null)).toBe(false)
  })
})

describe('the submission', () => {
  it('claims the mean of the two runs and carries the profile and hardware it was given', () => {
    const fields = submissionFields({ name: 'ada' }, { causeId: 'c'.repeat(64) }, { base: { commit: 'b', metric: 1 }, local: { commit: 'l', metric: 0.8 }, confirmed: { metric: 0.6, logDigest: 'd' }, candidate: 's', description: 'x' })
    expect(fields).toEqual({ causeId: 'c'.repeat(64), parent: 'b', candidate: 's', claimedMetric: 0.7, logDigest: 'd', description: 'x', profile: { name: 'ada' } })
  })
})
