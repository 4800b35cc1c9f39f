import { describe, expect, it } from 'vitest'
import { addressKey, assertAddressMaySubmit, assertMaySubmit, dailyQuota, QUOTA, quotaUsed, REFUSALS, verifierReputation } from './policy.ts'
import type { IdentityRow } from './store/index.ts'

const identity = (o: Partial<IdentityRow> = {}): IdentityRow => ({
  public_key: 'k'.repeat(64), banned: 0, ban_reason: null, accepted: 0, rejected: 0, contradicted: 0, verifier_agreed: 0, verifier_disagreed: 0, ...o
})
/** A store that answers the quota's three questions from plain numbers. */
const ledger = (who: IdentityRow, submissions: number, refusals: { byKey: number, byAddress: number }) => ({
  identity: () => who,
  submissionsSince: () => submissions,
  refusalsSince: (r: { publicKey: string } | { address: string }) => 'address' in r ? refusals.byAddress : refusals.byKey
})

describe('daily quota', () => {
  it('grows with accepted candidates, shrinks with rejected and contradicted ones, within its bounds', () => {
    expect(dailyQuota(identity())).toBe(QUOTA.base)
    expect(dailyQuota(identity({ accepted: 3, rejected: 2, contradicted: 1 }))).toBe(20 + 6 - 2 - 4)
    expect(dailyQuota(identity({ contradicted: 100 }))).toBe(QUOTA.min)
    expect(dailyQuota(identity({ accepted: 1000 }))).toBe(QUOTA.max)
  })

  it('counts receipts and a share of refusals as used', () => {
    expect(quotaUsed(ledger(identity(), 3, { byKey: 2, byAddress: 0 }), 'k')).toBe(3 + 2 / REFUSALS.perSubmission)
  })

  it('refuses a banned identity and one at its quota (exactly at it included), naming the figures', () => {
    expect(() => assertMaySubmit(ledger(identity({ banned: 1, ban_reason: 'spam' }), 0, { byKey: 0, byAddress: 0 }), 'k'.repeat(64)))
      .toThrow(expect.objectContaining({ name: 'BannedError', message: `identity ${'k'.repeat(16)}… is banned from this cause: spam` }))
    expect(() => assertMaySubmit(ledger(identity(), 19, { byKey: 3, byAddress: 0 }), 'k')).not.toThrow()
    expect(() => assertMaySubmit(ledger(identity(), 19, { byKey: 4, byAddress: 0 }), 'k'))
      .toThrow(expect.objectContaining({ name: 'QuotaExceededError', message: expect.stringMatching(/has used its quota of 20 submissions per 24 h \(0 accepted, 0 rejected, 0 contradicted claims\)/) }))
  })
})

describe('refusals by address', () => {
  it('an IPv4 address as it is, an IPv6 address by its /64, nothing for other transports', () => {
    expect(addressKey('/ip4/192.0.2.7/tcp/4001')).toBe('192.0.2.7')
    expect(addressKey('/ip6/2001:db8:1:2:3:4:5:6/tcp/4001')).toBe('2001:db8:1:2::/64')
    expect(addressKey('/dns4/example.org/tcp/4001')).toBeNull()
    expect(addressKey(undefined)).toBeNull()
  })

  it('refuses every submission from an address at its limit of refusals, and never without an address', () => {
    expect(() => assertAddressMaySubmit(ledger(identity(), 0, { byKey: 0, byAddress: 119 }), '192.0.2.7')).not.toThrow()
    expect(() => assertAddressMaySubmit(ledger(identity(), 0, { byKey: 0, byAddress: 120 }), '192.0.2.7'))
      .toThrow(expect.objectContaining({ name: 'QuotaExceededError', message: '120 submissions from 192.0.2.7 were refused in the last 60 minutes (the limit is 120); wait before sending more' }))
    expect(() => assertAddressMaySubmit(ledger(identity(), 0, { byKey: 0, byAddress: 5 }), '192.0.2.7', 5)).toThrow()
    expect(() => assertAddressMaySubmit(ledger(identity(), 0, { byKey: 0, byAddress: 1000 }), null)).not.toThrow()
  })
})

describe('verifier reputation', () => {
  it('one up per agreement, two down per disagreement', () => {
    expect(verifierReputation(identity({ verifier_agreed: 3, verifier_disagreed: 2 }))).toBe(-1)
  })
})
