import { describe, expect, it } from 'vitest'
import { Claims } from './claims.ts'

const claim = (worker: string, nearKey: string | null = 'train.py:LR:up') => ({ worker, best: 'b', description: `${worker}'s`, nearKey })

describe('claims held', () => {
  it('finds near-duplicates by best and near key, not the asking worker\'s own, and forgets released and expired ones', () => {
    const claims = new Claims()
    claims.claim('e1', claim('a'), 0, 100)
    claims.claim('e2', claim('b'), 0, 50)
    claims.claim('e3', claim('c', 'train.py:LR:down'), 0, 100)
    expect(claims.near('b', 'train.py:LR:up', 'x', 10).map((c) => c.worker).sort()).toEqual(['a', 'b'])
    expect(claims.near('b', 'train.py:LR:up', 'a', 10).map((c) => c.worker)).toEqual(['b'])
    expect(claims.near('b', 'train.py:LR:up', 'x', 60).map((c) => c.worker)).toEqual(['a'])
    claims.release('e1')
    expect(claims.near('b', 'train.py:LR:up', 'x', 10).map((c) => c.worker)).toEqual(['b'])
    expect(claims.near('other', 'train.py:LR:up', 'x', 10)).toEqual([])
  })

  it('refiles a renewed claim under its new near key', () => {
    const claims = new Claims()
    claims.claim('e1', claim('a'), 0, 100)
    claims.claim('e1', claim('a', 'train.py:LR:down'), 10, 100)
    expect(claims.near('b', 'train.py:LR:up', 'x', 20)).toEqual([])
    expect(claims.near('b', 'train.py:LR:down', 'x', 20).map((c) => c.expiresAt)).toEqual([110])
  })
})
