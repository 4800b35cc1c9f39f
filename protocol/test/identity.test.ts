import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { canonicalJson, Identity, verifySignature } from '../src/index.ts'
import { tempDir } from './helpers.ts'

describe('identity', () => {
  it('creates a key file with mode 0600 and loads the same identity back', () => {
    const path = join(tempDir(), 'nested', 'identity.key')
    const { identity, created } = Identity.loadOrCreate(path)
    expect(created).toBe(true)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    const again = Identity.loadOrCreate(path)
    expect(again.created).toBe(false)
    expect(again.identity.publicKey).toBe(identity.publicKey)
  })

  it('refuses a key file other users can read', () => {
    const path = join(tempDir(), 'identity.key')
    Identity.loadOrCreate(path)
    chmodSync(path, 0o644)
    expect(() => Identity.load(path)).toThrow(/readable by other users/)
  })

  it('refuses a key file whose public key does not match', () => {
    const path = join(tempDir(), 'identity.key')
    const a = Identity.generate()
    const b = Identity.generate()
    a.save(path)
    const text = (JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>)
    writeFileSync(path, JSON.stringify({ ...text, publicKey: b.publicKey }), { mode: 0o600 })
    expect(() => Identity.load(path)).toThrow(/does not match/)
  })

  it('signs with domain separation over canonical JSON', () => {
    const id = Identity.generate()
    const body = { b: 1, a: [1, 'x', { d: null, c: true }] }
    const sig = id.sign('submission', body)
    expect(verifySignature('submission', { a: [1, 'x', { c: true, d: null }], b: 1 }, sig, id.publicKey)).toBe(true)
    expect(verifySignature('receipt', body, sig, id.publicKey)).toBe(false)
    expect(verifySignature('submission', { ...body, b: 2 }, sig, id.publicKey)).toBe(false)
    expect(verifySignature('submission', body, sig, Identity.generate().publicKey)).toBe(false)
    expect(verifySignature('submission', body, 'zz', id.publicKey)).toBe(false)
  })

  it('encodes canonically regardless of key order', () => {
    expect(canonicalJson({ z: 1, a: { y: [2, 1], b: 'é' } })).toBe('{"a":{"b":"é","y":[2,1]},"z":1}')
    expect(() => canonicalJson({ x: Number.NaN })).toThrow()
  })
})
