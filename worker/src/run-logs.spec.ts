import * as fs from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { TrialResult } from '@autoresearch/runner'
import { crashReason, KEPT_RUN_LOGS, MAX_RUN_LOG_BYTES, RunLogs } from './run-logs.ts'

const failed = (message: string, logTail: string): Extract<TrialResult, { ok: false }> => ({ ok: false, reason: 'crash', message, logDigest: '', logTail, durationMs: 1 })

describe('run logs', () => {
  it('a crash\'s reason is one line: the runner\'s message and the last line the step printed', () => {
    const tail = '=== train ===\nstep 1\nTraceback (most recent call last):\n  File "train.py", line 3\nZeroDivisionError: division by zero\n=== runner ===\ntrain exited with code 1\n'
    expect(crashReason(failed('train exited with code 1', tail))).toBe('train exited with code 1: ZeroDivisionError: division by zero')
    expect(crashReason(failed('train ran past its time limit (60 s) and was killed', '=== runner ===\ntrain ran past its time limit (60 s) and was killed\n'))).toBe('train ran past its time limit (60 s) and was killed')
    expect(crashReason(failed('x', `${'a'.repeat(500)}\n`)).length).toBeLessThanOrEqual(160)
  })

  it('keeps the last runs, each capped with its start and its end', () => {
    const dir = join(fs.mkdtempSync(join(tmpdir(), 'ar-logs-')), 'logs')
    const logs = new RunLogs(dir)
    const paths: string[] = []
    for (let i = 0; i < KEPT_RUN_LOGS + 5; i++) {
      const run = logs.start(`${i}`.padStart(40, 'c'), i)
      run.line('train', `run ${i}`)
      run.finish({ ok: false, reason: 'crash', message: `train exited with code ${i}`, logDigest: '', logTail: '', durationMs: 1 })
      paths.push(run.path)
    }
    const kept = fs.readdirSync(dir).sort()
    expect(kept).toHaveLength(KEPT_RUN_LOGS)
    expect(kept.map((f) => join(dir, f))).toEqual(paths.slice(-KEPT_RUN_LOGS))
    expect(fs.readFileSync(paths.at(-1) as string, 'utf8')).toMatch(/=== train ===\nrun 24\n=== result ===\ncrash: train exited with code 24\n$/)
    // Numbering goes on after a restart.
    expect(new RunLogs(dir).start('d'.repeat(40), 1).path > (paths.at(-1) as string)).toBe(true)

    const big = logs.start('e'.repeat(40), 1)
    big.line('train', 'first line')
    for (let i = 0; i < 20_000; i++) big.line('train', `line ${i} ${'x'.repeat(40)}`)
    big.line('evaluate', 'the last words')
    big.finish({ ok: true, metric: 1, result: {}, memoryGb: 0, logDigest: '', logTail: '', durationMs: 1 })
    const text = fs.readFileSync(big.path, 'utf8')
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_RUN_LOG_BYTES + 200)
    expect(text).toContain('first line')
    expect(text).toMatch(/bytes left out/)
    expect(text).toMatch(/=== evaluate ===\nthe last words\n=== result ===\nmetric 1\n$/)
  })
})
