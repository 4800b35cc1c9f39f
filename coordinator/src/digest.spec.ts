import { describe, expect, it } from 'vitest'
import { kindLabel, writeDigest, type DigestInput } from './digest.ts'

const run = (status: 'keep' | 'discard' | 'crash' | 'unconfirmed', near: string | null, worker = 'a', description = 'edit'): DigestInput['experiments'][number] => ({ worker, status, metric: status === 'crash' ? null : 1, description, near_key: near })

describe('the digest', () => {
  const digest = writeDigest({
    cause: 'toy',
    metric: { name: 'loss', direction: 'minimize' },
    merges: [{ index: 1, description: 'LR 0.01 -> 0.02', metric: 0.9, baseline: 1 }],
    experiments: [
      run('keep', 'train.py:LR:up'), run('discard', 'train.py:LR:up', 'b'), run('discard', 'train.py:HIDDEN:down'), run('discard', 'train.py:HIDDEN:down', 'b'),
      run('crash', 'train.py:BATCH:up,train.py:*', 'a', 'huge batch'), run('discard', 'train.py:WD:up')
    ],
    open: [{ id: 4, text: 'Raise MOMENTUM in train.py' }],
    at: Date.UTC(2026, 11, 2)
  })

  it('says what helped, verified and kept', () => {
    expect(digest).toContain('Findings on toy as of 2026-12-02T00:00:00.000Z: 6 recent experiments by 2 worker(s), 1 verified merge(s)')
    expect(digest).toContain('- merge 1: LR 0.01 -> 0.02 (1.0000 -> 0.90000)')
    expect(digest).toContain('- Raise LR in train.py: 1 of 2 kept')
  })

  it('says what did not help, what crashed, and what is still open', () => {
    expect(digest).toContain('- Lower HIDDEN in train.py: 2 runs, none kept')
    expect(digest).toContain('- huge batch: 1')
    expect(digest).toContain('- hypothesis #4 not tested yet: Raise MOMENTUM in train.py')
    expect(digest).toContain('- Raise WD in train.py: tried once only')
    expect(digest).not.toContain('Raise LR in train.py: tried once')
  })

  it('names kinds of edit as a person would', () => {
    expect(kindLabel('model/a.py:WIDTH:down')).toBe('Lower WIDTH in model/a.py')
  })
})
