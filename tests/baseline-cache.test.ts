import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Identity } from '@autoresearch/protocol'
import { selectBackend } from '@autoresearch/runner'
import { Verifier } from 'autoresearch-verifier'
import { countingBackend, simCostCause, type Tally } from '../bench/lib/sim-network.ts'
import { setConstant, TestNetwork } from './network.ts'

describe('the verifier\'s baseline cache', () => {
  let net: TestNetwork | undefined
  // Without the sequential rule: these losers run every pair, and the test counts their baselines.
  const cause = simCostCause(0, { sequential: false })
  afterAll(async () => { await net?.stop(); rmSync(cause, { recursive: true, force: true }) })

  it('off, every job runs its baselines; on, the second job on the same best takes them from the cache', async () => {
    net = await TestNetwork.start(cause)
    const trials = 3
    // Every candidate on this best gets the same seeds, so the cache can serve a whole job.
    net.running.coordinator.store.setSeedPool(net.best, [11, 12, 13])
    const submitter = Identity.generate()
    // Worse settings: rejected, so the best stays and all four jobs share it.
    for (const [name, value] of [['LEARNING_RATE', 0.009], ['WIDTH_SCALE', 0.9], ['LEARNING_RATE', 0.008], ['WIDTH_SCALE', 0.8]] as const) {
      await net.submitEdit(submitter, setConstant(name, value))
    }
    const train = (JSON.parse(readFileSync(join(cause, 'autoresearch.json'), 'utf8')) as { train: { command: string[] } }).train.command
    const verifier = async (baselineCache: boolean, tally: Tally, dir: string): Promise<Verifier> => new Verifier({
      client: await net!.client(net!.verifierIdentity), identity: net!.verifierIdentity, stateDir: join(net!.scratch, dir),
      backend: countingBackend(selectBackend(), tally, train), baselineCache
    })

    const offRuns: Tally = { runs: 0, seconds: 0 }
    const off = await verifier(false, offRuns, 'verifier-off')
    expect(await off.runOnce()).toBe(0)
    expect(await off.runOnce()).toBe(0)
    expect(off.cacheStats).toEqual({ hits: 0, misses: 2 * trials })
    expect(offRuns.runs).toBe(2 * 2 * trials)
    expect(existsSync(join(net.scratch, 'verifier-off', 'baseline-cache.json'))).toBe(false)

    const onRuns: Tally = { runs: 0, seconds: 0 }
    const on = await verifier(true, onRuns, 'verifier-on')
    expect(await on.runOnce()).toBe(0)
    expect(on.cacheStats).toEqual({ hits: 0, misses: trials })
    expect(await on.runOnce()).toBe(0)
    expect(on.cacheStats).toEqual({ hits: trials, misses: trials })
    expect(onRuns.runs).toBe(2 * trials + trials)
    expect(net.running.coordinator.status().merges).toBe(0)
  })

  it.each([
    { reuse: true, baselineRuns: 0, label: 'takes its baselines from the merged candidate\'s runs' },
    { reuse: false, baselineRuns: 3, label: 'runs its baselines' }
  ])('with reuseCandidateRuns $reuse, the job after a merge $label', async ({ reuse, baselineRuns }) => {
    const dir = simCostCause(0, { sequential: false, reuse })
    const reused = await TestNetwork.start(dir)
    try {
      const trials = 3
      const train = (JSON.parse(readFileSync(join(dir, 'autoresearch.json'), 'utf8')) as { train: { command: string[] } }).train.command
      const tally: Tally = { runs: 0, seconds: 0 }
      const verifier = new Verifier({
        client: await reused.client(reused.verifierIdentity), identity: reused.verifierIdentity, stateDir: join(reused.scratch, 'verifier'),
        backend: countingBackend(selectBackend(), tally, train)
      })
      const submitter = Identity.generate()
      // Two large gains one after the other: the second is submitted on the first once it is the best.
      const first = await reused.submitEdit(submitter, setConstant('LEARNING_RATE', 0.04))
      expect(await verifier.runOnce()).toBe(0)
      const store = reused.running.coordinator.store
      // toMatchObject, so a failure shows the verdict's reason.
      expect(store.candidate(first)).toMatchObject({ state: 'merged' })
      expect(tally.runs).toBe(2 * trials)
      const second = await reused.submitEdit(submitter, setConstant('WEIGHT_DECAY', 0.025))
      expect(await verifier.runOnce()).toBe(0)
      expect(store.candidate(second)).toMatchObject({ state: 'merged' })
      expect(tally.runs).toBe(2 * trials + trials + baselineRuns)
      expect(verifier.cacheStats).toEqual({ hits: trials - baselineRuns, misses: trials + baselineRuns })
      // Reused, the second verdict's baselines are the first's candidate figures, seed for seed, as published.
      const figures = (seq: number, side: 'baseline' | 'candidate'): Array<[number, number | null]> => (store.candidate(seq)?.verdict?.trials ?? []).map((t) => [t.seed, t[side]])
      if (reuse) expect(figures(second, 'baseline')).toEqual(figures(first, 'candidate'))
      else expect(figures(second, 'baseline').map(([seed]) => seed).some((seed) => figures(first, 'candidate').some(([s]) => s === seed))).toBe(false)
    } finally {
      await reused.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
