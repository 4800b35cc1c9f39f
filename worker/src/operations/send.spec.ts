import { describe, expect, it } from 'vitest'
import { InternalError, ProtectedPathError, StaleParentError, StorageFullError, TimeoutError } from '@autoresearch/protocol'
import { SecretLeakError } from '../secrets.ts'
import { isTransient } from './send.ts'

describe('which failed submissions are sent again', () => {
  it('retries what the network did not answer, or answered with no room or its own failure', () => {
    for (const err of [new Error('connection reset'), new TimeoutError('t'), new StorageFullError('s'), new InternalError('i'), 'a string']) expect(isTransient(err)).toBe(true)
  })

  it('gives up on a refusal with a reason, and on a candidate that carries a secret', () => {
    for (const err of [new ProtectedPathError('p'), new StaleParentError('s'), new SecretLeakError('k')]) expect(isTransient(err)).toBe(false)
  })
})
