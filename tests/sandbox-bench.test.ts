import { describe, expect, it } from 'vitest'
import { run } from '../bench/sandbox.ts'

describe('the sandbox benchmark', () => {
  it('runs trials alone, side by side, and side by side from the spawner process, and counts the children each trial starts here: the tree tools only for trees a step wrote', async () => {
    const result = await run(['--trials', '2', '--concurrency', '2', '--train-seconds', '0.1'])
    const rows = result.rows as Array<Record<string, unknown> & { byProgram: Record<string, { perTrial: number }> }>
    expect(rows.map((r) => r.concurrency)).toEqual([1, 2, 2])
    const [alone, together, spawner] = rows as [typeof rows[0], typeof rows[0], typeof rows[0]]
    for (const row of [alone, together]) {
      expect(row.secondsPerTrial as number).toBeGreaterThan(0.1)
      // The capped disk's holder, nsenter into it for train and evaluate, and one sh that measures
      // train's output and makes it readable: the trees the runner wrote itself are handed to the
      // sandbox's user in-process, and nothing is handed back from a trial it then removes.
      expect(row.byProgram).toEqual({ bwrap: expect.objectContaining({ perTrial: 1 }), nsenter: expect.objectContaining({ perTrial: 2 }), sh: expect.objectContaining({ perTrial: 1 }) })
      expect(row.spawnsPerTrial).toBe(4)
    }
    // Through the spawner process this process starts only the disk's holder, which dies with it.
    expect(spawner).toMatchObject({ spawner: true, spawnsPerTrial: 1, byProgram: { bwrap: expect.objectContaining({ perTrial: 1 }) } })
    expect(spawner.secondsPerTrial as number).toBeGreaterThan(0.1)
    expect(Number.isFinite(result.slowdown)).toBe(true)
    expect(Number.isFinite((result.ratios as { spawner: number }).spawner)).toBe(true)
  })
})
