import { describe, expect, it } from 'vitest'
import { crash, ok } from '../../test/fakes.ts'
import { stopped } from './stopped.ts'

describe('a run the worker stopped', () => {
  it('ends the operation with the signal\'s reason; any other result passes through', () => {
    const controller = new AbortController()
    const reason = new DOMException('stopped', 'AbortError')
    controller.abort(reason)
    expect(() => stopped(crash('aborted'), controller.signal)).toThrow(reason)
    expect(() => stopped(crash('aborted'))).toThrow(expect.objectContaining({ name: 'AbortError' }))
    const failed = crash('crash')
    expect(stopped(failed, controller.signal)).toBe(failed)
    const done = ok(0.5)
    expect(stopped(done)).toBe(done)
  })
})
