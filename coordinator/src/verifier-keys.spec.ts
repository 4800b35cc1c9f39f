import { describe, expect, it } from 'vitest'
import type { Config } from './home.ts'
import { addVerifier, removeVerifier } from './verifier-keys.ts'

const a = 'a'.repeat(64)
const b = 'b'.repeat(64)
const config: Config = { causeId: 'toy/1', verifiers: [a], verifierMode: 'allowlist' }

describe('verifier keys', () => {
  it('adds a key once and removes it again', () => {
    const added = addVerifier(config, b)
    expect(added.verifiers).toEqual([a, b])
    expect(() => addVerifier(added, b)).toThrow(expect.objectContaining({ name: 'VerifierAlreadyListedError' }))
    expect(removeVerifier(added, a).verifiers).toEqual([b])
  })

  it('refuses a key that is not one, a key not listed, and the last key', () => {
    expect(() => addVerifier(config, 'A'.repeat(64))).toThrow(expect.objectContaining({ name: 'InvalidVerifierKeyError' }))
    expect(() => addVerifier(config, 'ab')).toThrow(/64 lowercase hex digits/)
    expect(() => removeVerifier(config, b)).toThrow(expect.objectContaining({ name: 'VerifierNotListedError' }))
    expect(() => removeVerifier(config, a)).toThrow(expect.objectContaining({ name: 'LastVerifierError', message: expect.stringContaining('add another first') }))
  })
})
