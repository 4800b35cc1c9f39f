import { parseManifest } from '@autoresearch/protocol'
import { describe, expect, it } from 'vitest'
import type { PairedTest } from '../stats.ts'
import { claimBound, claimContradiction } from './claim-bound.ts'

const manifest = parseManifest({
  name: 'toy', editable: ['train.py'], train: { command: ['python', 'train.py'] }, metric: { name: 'loss', direction: 'minimize', stdoutPattern: 'loss=(\\S+)' }, verification: { minImprovement: 0.125 }
})
// Mean gain 1, sd 2 over 4 trials: bound 1 + 4·2/2 + 2·0.125 = 5.25 (numbers exact in binary).
const test: PairedTest = { n: 4, mean: 1, sd: 2, margin: 0.125, t: null, pValue: 0, confidence: 0.95, passed: true }

describe('claim bound', () => {
  it('is the mean gain plus four standard errors plus twice minImprovement', () => {
    expect(claimBound(test, 0.125)).toBe(5.25)
    expect(claimBound({ ...test, n: 0, sd: 0 }, 0.125)).toBe(1.25)
  })

  it('a claim exactly at the bound stands; one beyond it is contradicted, in words', () => {
    // Minimized metric from a baseline of 10: a claim of 4.75 gains 5.25.
    expect(claimContradiction(manifest, { claimed_metric: 4.75, origin_seq: null }, 10, test)).toBeNull()
    expect(claimContradiction(manifest, { claimed_metric: 4.5, origin_seq: null }, 10, test)).toBe('; claimed gain 5.500 is far beyond the measured 1.000')
  })

  it('never held against a coordinator rebase, nor when nothing was measured', () => {
    expect(claimContradiction(manifest, { claimed_metric: 0, origin_seq: 3 }, 10, test)).toBeNull()
    expect(claimContradiction(manifest, { claimed_metric: 0, origin_seq: null }, null, test)).toBeNull()
  })
})
