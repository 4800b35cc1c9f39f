import { describe, expect, it } from 'vitest'
import { GIT_RETRY_AFTER_SECONDS, UploadPackSlots } from './slots.ts'

describe('upload-pack slots', () => {
  it('gives one client its share only, and the rest to everyone else', () => {
    const slots = new UploadPackSlots(4, 2)
    slots.take('a')
    slots.take('a')
    expect(() => slots.take('a')).toThrow(expect.objectContaining({ name: 'GitClientBusy', status: 503, headers: { 'Retry-After': String(GIT_RETRY_AFTER_SECONDS) }, message: expect.stringMatching(/your address already runs 2 git fetches at once/) }))
    slots.take('b')
    slots.take('c')
    expect(slots.running).toBe(4)
    expect(() => slots.take('d')).toThrow(expect.objectContaining({ name: 'GitBusy', status: 503 }))
    // The address that fills its share is told so, even when every slot is taken.
    expect(() => slots.take('a')).toThrow(expect.objectContaining({ name: 'GitClientBusy' }))
  })

  it('frees a slot once, however often it is given back', () => {
    const slots = new UploadPackSlots(2, 1)
    const release = slots.take('a')
    slots.take('b')
    release()
    release()
    expect(slots.running).toBe(1)
    expect(() => slots.take('b')).toThrow(expect.objectContaining({ name: 'GitClientBusy' }))
    slots.take('a')
    expect(() => slots.take('c')).toThrow(expect.objectContaining({ name: 'GitBusy' }))
  })
})
