import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { ROOT } from './processes.ts'

describe('npm run demo', () => {
  it('exits 0 after the requested merges and ends with a JSON summary', () => {
    const run = spawnSync('npm', ['run', '--silent', 'demo', '--', '--merges', '1', '--port', '0'], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 })
    expect(run.status, run.stderr + run.stdout.slice(-3000)).toBe(0)
    const lines = run.stdout.trim().split('\n')
    const summary = JSON.parse(lines[lines.length - 1] as string) as { merges: number, baselineMetric: number, bestMetric: number, bestCommit: string, experiments: { reported: number, workers: number, statuses: Record<string, number> } }
    expect(summary.merges).toBeGreaterThanOrEqual(1)
    expect(summary.bestCommit).toMatch(/^[0-9a-f]{40}$/)
    expect(summary.bestMetric).toBeLessThan(summary.baselineMetric)
    expect(run.stdout).toContain('[coordinator] MERGED')
    expect(run.stdout).toContain('[verifier] job')
    expect(run.stdout).toContain('[worker-2] experiment')
    // Both workers shared their runs, discards included (read from GET /api/experiments before the network stopped).
    expect(summary.experiments.workers).toBe(2)
    expect(summary.experiments.statuses.discard).toBeGreaterThan(0)
  })
})
