import { describe, expect, it } from 'vitest'
import { formGroups, type Passer } from './groups.ts'

const passer = (seq: number, o: Partial<Passer> = {}): Passer => ({ seq, parent_oid: 'x', alone: false, ...o })

describe('formGroups', () => {
  it('puts every passer of no failed group into one group, in the order given', () => {
    expect(formGroups([passer(5), passer(3), passer(8, { parent_oid: 'y' })], new Set())).toEqual({ groups: [[5, 3, 8]], waiting: [] })
  })

  it('holds passers whose parent still has a candidate under verification: it may pass and join them', () => {
    expect(formGroups([passer(5), passer(8, { parent_oid: 'y' })], new Set(['x']))).toEqual({ groups: [[8]], waiting: [5] })
  })

  it('bisects a failed group: the first half (rounded up) and the rest, each its own group', () => {
    const failedGroup = { seq: 20, members: [5, 3, 8] }
    const grouping = formGroups([passer(5, { failedGroup }), passer(3, { failedGroup }), passer(8, { failedGroup }), passer(9)], new Set(['x']))
    expect(grouping).toEqual({ groups: [[5, 3], [8]], waiting: [9] })
  })

  it('carries a passer that must go alone (a group itself, or on the best again) on alone', () => {
    expect(formGroups([passer(20, { alone: true }), passer(21, { alone: true }), passer(5)], new Set())).toEqual({ groups: [[20], [21], [5]], waiting: [] })
  })
})
