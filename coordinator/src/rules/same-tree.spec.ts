import { describe, expect, it } from 'vitest'
import { sameTree } from './same-tree.ts'

const first = { seq: 4, submitter: 'alice', origin_seq: null, state: 'queued' as const, parent_oid: 'p1' }

describe('a submission whose tree a candidate already has', () => {
  it('belongs to the first submitter: anyone else sends a duplicate, also of a stale one', () => {
    expect(sameTree(first, first, 'mallory', 'p1')).toBe('duplicate')
    expect(sameTree({ ...first, state: 'stale' }, { ...first, state: 'stale' }, 'mallory', 'p2')).toBe('duplicate')
  })

  it('is a repeat from its owner while the candidate is in play or was decided, whatever the parent', () => {
    for (const state of ['queued', 'verifying', 'passed', 'merged', 'rejected'] as const) {
      expect(sameTree(first, { state, parent_oid: 'p1' }, 'alice', 'p2'), state).toBe('repeat')
    }
    expect(sameTree(first, { state: 'stale', parent_oid: 'p1' }, 'alice', 'p1')).toBe('repeat')
  })

  it('is carried by its owner onto another best when where its lineage stands went stale', () => {
    expect(sameTree({ ...first, state: 'stale' }, { state: 'stale', parent_oid: 'p1' }, 'alice', 'p2')).toBe('carried')
    // The coordinator had carried it once (first is `rebased`), and that copy went stale in turn.
    expect(sameTree({ ...first, state: 'rebased' }, { state: 'stale', parent_oid: 'p2' }, 'alice', 'p3')).toBe('carried')
    expect(sameTree({ ...first, state: 'rebased' }, { state: 'queued', parent_oid: 'p2' }, 'alice', 'p3')).toBe('repeat')
  })

  it('never takes a rebased copy for an original', () => {
    expect(sameTree({ ...first, origin_seq: 2, state: 'stale' }, { state: 'stale', parent_oid: 'p1' }, 'alice', 'p2')).toBe('duplicate')
  })
})
