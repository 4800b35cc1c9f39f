import { describe, expect, it } from 'vitest'
import { decideClaim } from './claims.ts'

const wanted = (worker: string) => ({ worker, best: 'b', description: 'd', nearKey: null })

describe('decideClaim', () => {
  it('grants what nobody holds, for the claim time', () => {
    expect(decideClaim(undefined, wanted('a'), 100, 50)).toEqual({ granted: true, claim: { ...wanted('a'), expiresAt: 150 } })
  })

  it('refuses another worker while the claim holds, and names the holder', () => {
    const held = { ...wanted('a'), expiresAt: 150 }
    expect(decideClaim(held, wanted('b'), 149, 50)).toEqual({ granted: false, holder: held })
  })

  it('grants once the claim ran out, and renews the holder\'s own', () => {
    const held = { ...wanted('a'), expiresAt: 150 }
    expect(decideClaim(held, wanted('b'), 150, 50)).toMatchObject({ granted: true, claim: { worker: 'b', expiresAt: 200 } })
    expect(decideClaim(held, wanted('a'), 120, 50)).toMatchObject({ granted: true, claim: { worker: 'a', expiresAt: 170 } })
  })
})
