import { describe, expect, it } from 'vitest'
import { pickBatch, type Batchable } from './batch.ts'

const queued = (seq: number, o: Partial<Batchable> = {}): Batchable => ({ seq, submitter: `k${seq}`, started: false, group: false, trusted: true, ...o })

describe('pickBatch', () => {
  it('takes the fresh candidates in queue order, up to the size', () => {
    expect(pickBatch([queued(7), queued(3), queued(9), queued(4)], 'v', 3)).toEqual([7, 3, 9])
  })

  it('never takes the verifier’s own candidates, and starts from the first that is not', () => {
    expect(pickBatch([queued(7, { submitter: 'v' }), queued(3), queued(9, { submitter: 'v' }), queued(4)], 'v', 8)).toEqual([3, 4])
  })

  it('makes no batch of one', () => {
    expect(pickBatch([queued(7), queued(3, { submitter: 'v' })], 'v', 8)).toEqual([])
    expect(pickBatch([], 'v', 8)).toEqual([])
  })

  it('lets the head go alone when it is started, a group, or from a key without a verified merge', () => {
    for (const o of [{ started: true }, { group: true }, { trusted: false }]) {
      expect(pickBatch([queued(7, o), queued(3), queued(9)], 'v', 8)).toEqual([])
    }
  })

  it('leaves out of a fresh batch what is started, a group, untrusted, or from a failed batch', () => {
    const failedGroup = { seq: 20, members: [11, 12] }
    expect(pickBatch([queued(7), queued(3, { started: true }), queued(4, { group: true }), queued(5, { trusted: false }), queued(11, { failedGroup }), queued(9)], 'v', 8)).toEqual([7, 9])
  })

  it('bisects a failed batch: the head joins only the rest of its half', () => {
    const failedGroup = { seq: 20, members: [5, 3, 8, 6] }
    const q = [queued(5, { failedGroup }), queued(3, { failedGroup }), queued(8, { failedGroup }), queued(6, { failedGroup }), queued(9)]
    expect(pickBatch(q, 'v', 8)).toEqual([5, 3])
    expect(pickBatch(q.slice(2), 'v', 8)).toEqual([8, 6])
    // A half of one goes alone: it is verified on its own.
    const three = { seq: 21, members: [5, 3, 8] }
    expect(pickBatch([queued(8, { failedGroup: three }), queued(9)], 'v', 8)).toEqual([])
  })

  it('reads the queue only as far as it must: the head that goes alone, or until the size is picked', () => {
    const read: number[] = []
    function * reading (q: Batchable[]): Generator<Batchable> {
      for (const c of q) { read.push(c.seq); yield c }
    }
    expect(pickBatch(reading([queued(7, { submitter: 'v' }), queued(3, { trusted: false }), queued(9), queued(4)]), 'v', 8)).toEqual([])
    expect(read).toEqual([7, 3])
    read.length = 0
    expect(pickBatch(reading([queued(7), queued(3), queued(9), queued(4)]), 'v', 2)).toEqual([7, 3])
    expect(read).toEqual([7, 3])
  })
})
