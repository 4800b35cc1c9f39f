import { parseManifest } from '@autoresearch/protocol'
import { describe, expect, it } from 'vitest'
import { queueOrder } from './queue-order.ts'

const cause = (direction: 'minimize' | 'maximize') => parseManifest({
  name: 'toy', editable: ['train.py'], train: { command: ['python', 'train.py'] }, metric: { name: 'loss', direction, stdoutPattern: 'loss=(\\S+)' }, verification: { minImprovement: 0.25 }
})
const order = (direction: 'minimize' | 'maximize', claims: number[]): number[] =>
  queueOrder(cause(direction), claims.map((claimed_metric, i) => ({ seq: i + 1, claimed_metric }))).map((c) => c.seq)

describe('queue order', () => {
  it('puts the best claim first when claims differ by more than minImprovement', () => {
    expect(order('minimize', [2, 1, 1.5])).toEqual([2, 3, 1])
    expect(order('maximize', [2, 1, 1.5])).toEqual([1, 3, 2])
  })

  it('keeps arrival order when a later claim is better by exactly minImprovement or less', () => {
    // Numbers exact in binary, so the boundary is exact.
    expect(order('minimize', [1, 0.75])).toEqual([1, 2])
    expect(order('minimize', [1, 0.875])).toEqual([1, 2])
    expect(order('minimize', [1, 0.5])).toEqual([2, 1])
    expect(order('maximize', [1, 1.25])).toEqual([1, 2])
  })

  it('orders by seq, not by the order it was given, and keeps the rows it was given', () => {
    const rows = [{ seq: 3, claimed_metric: 0.5, tag: 'c' }, { seq: 1, claimed_metric: 0.5, tag: 'a' }, { seq: 2, claimed_metric: 0.5, tag: 'b' }]
    expect(queueOrder(cause('minimize'), rows).map((r) => r.tag)).toEqual(['a', 'b', 'c'])
    expect(queueOrder(cause('minimize'), [])).toEqual([])
  })
})
