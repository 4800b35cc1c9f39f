import { describe, expect, it } from 'vitest'
import { run } from '../bench/sandbox.ts'

describe('the sandbox benchmark', () => {
  it('runs trials alone and side by side, and counts the children each trial starts: the tree tools only for trees a step wrote', async () => {
    const result = await run(['--trials', '2', '--concurrency', '2', '--train-seconds', '0.1'])
    const rows = result.rows as Array<Record<string, unknown> & { byProgram: Record<string, { perTrial: number }> }>
    expect(rows.map((r) => r.concurrency)).toEqual([1, 2])
    for (const row of rows) {
      expect(row.secondsPerTrial as number).toBeGreaterThan(0.1)
      // The capped disk's holder, nsenter into it for train and evaluate, and one sh that measures
      // train's output and makes it readable: the trees the runner wrote itself are handed to the
      // sandbox's user in-process, and nothing is handed back from a trial it then removes.
      expect(row.byProgram).toEqual({ bwrap: expect.objectContaining({ perTrial: 1 }), nsenter: expect.objectContaining({ perTrial: 2 }), sh: expect.objectContaining({ perTrial: 1 }) })
      expect(row.spawnsPerTrial).toBe(4)
    }
    expect(Number.isFinite(result.slowdown)).toBe(true)
  })
})
