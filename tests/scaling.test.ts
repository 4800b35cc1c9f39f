import { describe, expect, it } from 'vitest'
import { activeSpawner } from '@autoresearch/runner'
import { machines, scaling } from '../bench/scaling.ts'

describe('the scaling benchmark', () => {
  it('gives max(1, ⌊N/4⌋) verifiers one slot each, or with `--packed` one verifier with that many slots', () => {
    expect([1, 4, 8, 16].map((n) => machines(n, false))).toEqual([{ verifiers: 1, slots: 1 }, { verifiers: 1, slots: 1 }, { verifiers: 2, slots: 1 }, { verifiers: 4, slots: 1 }])
    expect([1, 4, 8, 16].map((n) => machines(n, true))).toEqual([{ verifiers: 1, slots: 1 }, { verifiers: 1, slots: 1 }, { verifiers: 1, slots: 2 }, { verifiers: 1, slots: 4 }])
  })

  it('one and two workers each bring the best to the target through verified merges, and every figure is a number', async () => {
    // The first merges take the sim-cost best from about 4.3 to below 3.5; no timing is asserted.
    const { rows, runs } = await scaling({ workers: [1, 2], seeds: [1], target: 3.5, trainSeconds: 0.1, timeoutSeconds: 200, machinePace: true })
    expect(rows.map((r) => r.workers)).toEqual([1, 2])
    for (const run of runs) {
      expect(run.reached).toBe(true)
      expect(run.merges).toBeGreaterThan(0)
      expect(run.bestMetric).toBeLessThanOrEqual(3.5)
      expect(run.verifierSide.runs).toBeGreaterThan(0)
      // Counted from the coordinator's events: each candidate a merge left stale, once.
      expect(Number.isInteger(run.stale) && run.stale >= 0).toBe(true)
      // Pauses for the agent, timed from the workers' events: idle on an old best is part of the pauses.
      expect(run.agentPauses.afterNewBest).toBeGreaterThanOrEqual(0)
      expect(run.agentPauses.afterNewBest).toBeLessThanOrEqual(run.agentPauses.seconds)
    }
    for (const row of rows) {
      for (const [key, value] of Object.entries(row)) expect(Number.isFinite(value), key).toBe(true)
      expect(row.experiments).toBeGreaterThan(0)
    }
    expect(rows[0]).toMatchObject({ speedup: 1, efficiency: 1, pace: 1, search: 1 })
    // Efficiency splits into how fast each worker's loop turned and how many experiments the search took.
    const two = rows[1]!
    expect(two.secondsPerExperiment).toBeCloseTo(2 * two.seconds / two.experiments, 1)
    expect(two.pace * two.search).toBeCloseTo(two.efficiency, 1)
    // This machine's own pace with two trials at once and no network, measured before the races.
    expect(rows[0]!.machinePace).toBe(1)
    expect(two.machinePace).toBeGreaterThan(0)
  })

  it('with every worker and verifier in a process of its own (`--processes`), two workers reach the target and every count comes back', async () => {
    const { rows, runs } = await scaling({ workers: [2], seeds: [1], target: 3.5, trainSeconds: 0.1, timeoutSeconds: 200, processes: true })
    const [run] = runs
    expect(run).toMatchObject({ reached: true, errors: [] })
    expect(run!.merges).toBeGreaterThan(0)
    // Counted in the participants' processes and sent back: runs on both sides, the workers' experiments, the verifier's jobs.
    expect(run!.workerSide.runs).toBeGreaterThanOrEqual(run!.experiments)
    expect(run!.verifierSide.runs).toBeGreaterThan(0)
    expect(run!.experiments).toBeGreaterThan(0)
    expect(run!.submissions).toBeGreaterThanOrEqual(run!.merges)
    expect(run!.jobs).toBeGreaterThanOrEqual(run!.merges)
    expect(run!.cache.hits + run!.cache.misses).toBeGreaterThan(0)
    for (const [key, value] of Object.entries(rows[0]!)) expect(Number.isFinite(value), key).toBe(true)
  })

  it('with the in-process participants forking from the runner\'s spawner process (`--spawner`), two workers reach the target and the process ends it', async () => {
    const { runs } = await scaling({ workers: [2], seeds: [1], target: 3.5, trainSeconds: 0.1, timeoutSeconds: 200, spawner: true })
    const [run] = runs
    expect(run).toMatchObject({ reached: true, errors: [] })
    expect(run!.merges).toBeGreaterThan(0)
    expect(run!.workerSide.runs).toBeGreaterThanOrEqual(run!.experiments)
    expect(run!.verifierSide.runs).toBeGreaterThan(0)
    // The race stopped the spawner: this process forks its children itself again.
    expect(activeSpawner()).toBeUndefined()
  })
})
