import { describe, expect, it } from 'vitest'
import * as errors from './errors.ts'
import { AutoresearchError, fromWireError, InternalError, InvalidKeyFileError, isStorageFull, RemoteError, StorageFullError, toWireError, UnknownCommitError, UsageError, WireError } from './errors.ts'

const classes = Object.entries(errors).filter((e): e is [string, typeof AutoresearchError] => typeof e[1] === 'function' && e[1].prototype instanceof Error)

describe('the error hierarchy', () => {
  it('names every class after itself, so `.name` matches the class on both sides of the wire', () => {
    expect(classes.length).toBeGreaterThan(20)
    for (const [exported, cls] of classes) expect(new cls('x').name, exported).toBe(exported)
  })

  it('rebuilds every wire error this version knows as its own class', () => {
    for (const [name, cls] of classes) {
      if (!(cls.prototype instanceof WireError) || cls === RemoteError) continue
      const rebuilt = fromWireError({ name, message: 'why' })
      expect(rebuilt, name).toBeInstanceOf(cls)
      expect(rebuilt.message).toBe('why')
    }
  })

  it('keeps a name it does not know, as a RemoteError', () => {
    const err = fromWireError({ name: 'FutureError', message: 'from a newer peer' })
    expect(err).toBeInstanceOf(RemoteError)
    expect(err).toMatchObject({ name: 'FutureError', message: 'from a newer peer' })
  })

  it('tells a peer a WireError\'s name and message, and nothing of any other error', () => {
    expect(toWireError(new UnknownCommitError('commit x is not here'))).toEqual({ name: 'UnknownCommitError', message: 'commit x is not here' })
    const hidden = { name: 'InternalError', message: 'the coordinator failed to handle this request' }
    expect(toWireError(new Error('/home/op/secret path'))).toEqual(hidden)
    expect(toWireError(new InvalidKeyFileError('key file /home/op/id.key is readable by other users'))).toEqual(hidden)
    expect(toWireError('not even an error')).toEqual(hidden)
    expect(new InternalError('x')).toBeInstanceOf(WireError)
    expect(new InvalidKeyFileError('x')).toBeInstanceOf(UsageError)
  })

  it('turns a full disk into StorageFullError the sender can act on', () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
    expect(toWireError(full)).toEqual({ name: 'StorageFullError', message: expect.stringContaining('out of disk space') })
    expect(fromWireError(toWireError(full))).toBeInstanceOf(StorageFullError)
    expect(isStorageFull(full)).toBe(true)
    expect(isStorageFull(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }))).toBe(true)
    expect(isStorageFull(Object.assign(new Error('no such file'), { code: 'ENOENT' }))).toBe(false)
    expect(isStorageFull(null)).toBe(false)
  })
})
