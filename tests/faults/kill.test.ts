/**
 * kill -9 of the coordinator at random points of intake, verification, merge and a merge
 * group's merge (8 kills here; `npm run bench -- faults` runs 60, and 12 with speculation), of a merge that a
 * speculative candidate's follows (4 kills), and in a lease that forms a batch or the batch's merge (4 kills). After each restart: every
 * receipt, attestation and merge that was answered is in the database, the best
 * ref agrees with it, no half-written file is left, and every job orphaned by the
 * crash is handed out again until every candidate is decided.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { initHome } from 'autoresearch-coordinator'
import { crashLoop, PHASES } from '../../bench/lib/crash.ts'
import { ROOT, startBin } from '../processes.ts'

/** Each kill's line (phase, delay, restart, re-issued), shown with a failed count so a CI failure says which kill did it. */
function logged (): { log: (line: string) => void, lines: string } {
  const lines: string[] = []
  return { log: (line) => lines.push(line), get lines () { return lines.join('\n') } }
}

describe('kill -9 of the coordinator', () => {
  it('loses no receipt, attestation, merge or ref, and re-issues orphaned jobs', async () => {
    const kills = logged()
    const { results, merges, candidates, groups } = await crashLoop({ iterations: 8, seed: 7, log: kills.log })
    expect(results.flatMap((r) => r.violations)).toEqual([])
    expect(results.map((r) => r.phase).sort()).toEqual([...PHASES, ...PHASES].sort())
    // Each iteration submits a winning candidate, and a group iteration two more that merge as one group; each merges before or after the kill.
    expect(groups, kills.lines).toEqual({ formed: 2, merged: 2 })
    expect(merges, kills.lines).toBe(8 + 2)
    expect(candidates.queued ?? 0).toBe(0)
    expect(candidates.verifying ?? 0).toBe(0)
    expect(candidates.passed ?? 0).toBe(0)

  })

  it('with speculation, loses no merge when it dies in the merge of a candidate another passed on top of', async () => {
    const { results, merges, candidates } = await crashLoop({ iterations: 4, seed: 9, phases: ['speculation'], speculative: true })
    expect(results.flatMap((r) => r.violations)).toEqual([])
    // Each iteration: the first winner, and the second carried onto it, merged before or after the kill (a lost promotion is left `passed`: a violation above).
    expect(merges).toBe(4 * 2)
    expect(candidates.passed ?? 0).toBe(0)
  })

  it('with batches, loses nothing when it dies while a lease forms a batch or in the batch\'s merge', async () => {
    const kills = logged()
    const { results, merges, candidates, groups } = await crashLoop({ iterations: 4, seed: 11, phases: ['batch'], batched: true, log: kills.log })
    expect(results.flatMap((r) => r.violations)).toEqual([])
    // Each iteration's two trusted winners merge as one batch (or as its copy carried onto a best that moved), before or after the kill; nothing is left open.
    expect(groups.formed, kills.lines).toBeGreaterThanOrEqual(4)
    expect(groups.merged, kills.lines).toBe(4)
    // Two trust merges, then per iteration the fresh key's winner and the batch.
    expect(merges, kills.lines).toBe(2 + 4 * 2)
    expect((candidates.queued ?? 0) + (candidates.verifying ?? 0) + (candidates.passed ?? 0)).toBe(0)
  })

  it('refuses a second coordinator on a home that is being served, and takes over the lock of a killed one', async () => {
    const home = join(mkdtempSync(join(tmpdir(), 'ar-lock-')), 'home')
    await initHome(home, join(ROOT, 'examples', 'toy-regression'))
    const args = ['serve', '--home', home, '--listen', '/ip4/127.0.0.1/tcp/0', '--http-port', '0', '--json']
    const first = startBin('coordinator/bin/autoresearch-coordinator.js', args)
    try {
      await first.waitForJson((e) => e.event === 'ready', 60_000)
      const second = spawnSync(process.execPath, [join(ROOT, 'coordinator', 'bin', 'autoresearch-coordinator.js'), ...args], { encoding: 'utf8', timeout: 60_000 })
      expect(second.status).toBe(1)
      expect(second.stderr).toContain(`HomeInUseError: ${home} is already served by process ${first.child.pid}`)
      const exited = new Promise((r) => first.child.once('exit', r))
      first.child.kill('SIGKILL')
      await exited
      const third = startBin('coordinator/bin/autoresearch-coordinator.js', args)
      try {
        await third.waitForJson((e) => e.event === 'ready', 60_000)
      } finally {
        await third.stop()
      }
    } finally {
      await first.stop()
    }
  })
})
