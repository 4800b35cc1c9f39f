import { parseManifest } from '@autoresearch/protocol'
import { describe, expect, it } from 'vitest'
import { mayAcceptEarly } from './accept-early.ts'

const input = { name: 't', editable: ['train.py'], train: { command: ['python3', 'train.py'] }, evaluate: { command: ['python3', 'evaluate.py'] }, metric: { name: 'loss', direction: 'minimize' } }
const verification = (extra: Record<string, unknown> = {}): ReturnType<typeof parseManifest>['verification'] =>
  parseManifest({ ...input, verification: { minImprovement: 0.05, sequential: { noise: 0.014, accept: 0.02 }, ...extra } }).verification
const first = { round: 1, role: undefined }

describe('mayAcceptEarly', () => {
  it('marks a counting verifier\'s whole first round where the cause declares it, with one allowlisted verifier deciding', () => {
    expect(mayAcceptEarly('allowlist', verification(), first)).toBe(true)
  })

  it('not without `sequential.accept`', () => {
    expect(mayAcceptEarly('allowlist', verification({ sequential: { noise: 0.014 } }), first)).toBe(false)
    expect(mayAcceptEarly('allowlist', verification({ sequential: undefined }), first)).toBe(false)
  })

  it('not where other verifiers\' pairs are pooled with these: quorum above 1, split rounds, open verification', () => {
    expect(mayAcceptEarly('allowlist', verification({ quorum: 2 }), first)).toBe(false)
    expect(mayAcceptEarly('allowlist', verification({ splitRounds: true }), first)).toBe(false)
    expect(mayAcceptEarly('open', verification(), first)).toBe(false)
  })

  it('not on a later round (a near-tie pools every round) nor on a shadow or spot-check job (compared whole)', () => {
    expect(mayAcceptEarly('allowlist', verification(), { round: 2, role: undefined })).toBe(false)
    expect(mayAcceptEarly('allowlist', verification(), { round: 1, role: 'shadow' })).toBe(false)
    expect(mayAcceptEarly('allowlist', verification(), { round: 1, role: 'spot-check' })).toBe(false)
  })
})
