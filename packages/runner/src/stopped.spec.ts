import { describe, expect, it } from 'vitest'
import type { TrialResult } from './types.ts'
import { stopped } from './stopped.ts'

const crash = (reason: 'crash' | 'aborted'): TrialResult => ({ ok: false, reason, message: 'boom', logDigest: 'b'.repeat(64), logTail: '', durationMs: 1 })
const ok = (metric: number): TrialResult => ({ ok: true, metric, result: {}, memoryGb: 0, logDigest: 'a'.repeat(64), logTail: '', durationMs: 1 })

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
