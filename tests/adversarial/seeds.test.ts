/**
 * A fixed lucky seed that is no longer "the same metric for every seed": train.py ignores
 * AUTORESEARCH_SEED, trains with a seed it picked for its luck, and adds a tiny
 * seed-dependent nudge. Real runs of the noisy cause.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { causeWith, NOISY, snapshot, standing, startArena, type Arena } from './arena.ts'

/** The attack: the luckiest of 5000 seeds (about -3.7σ of the shared noise), plus a nudge of at most 2.2e-4, distinct for every seed. */
function luckyNudged (text: string): string {
  const seeded = '    seed = int(os.environ["AUTORESEARCH_SEED"]) if SEED_FROM_ENV == 1 else 1234\n'
  const written = 'json.dump({"value": QUALITY + BONUS + shared + own}, f)'
  expect(text).toContain(seeded)
  expect(text).toContain(written)
  return text
    .replace(seeded, '    seed = min(range(5000), key=lambda s: random.Random(s).gauss(0.0, 0.03))\n    nudge = 1e-13 * int(os.environ["AUTORESEARCH_SEED"])\n')
    .replace(written, 'json.dump({"value": QUALITY + BONUS + shared + own + nudge}, f)')
}

describe('a lucky fixed seed with a tiny seed-dependent nudge (noisy cause, real runs)', () => {
  let arena: Arena | undefined
  afterEach(async () => { await arena?.stop(); arena = undefined })

  async function expectRejected (a: Arena): Promise<void> {
    const before = await snapshot(a.running)
    const seq = await a.net.submitEdit(a.attacker, luckyNudged, { claimedMetric: 1.4 })
    expect(await a.net.verifyAll()).toBe(1)
    const row = a.running.coordinator.store.candidate(seq)!
    expect(row.state, row.reason ?? '').toBe('rejected')
    expect(row.reason).toMatch(/barely varies across 5 seeds.*ignores AUTORESEARCH_SEED/)
    const verdict = row.verdict! as { seedSpread: { ratio: number }, trials: Array<{ candidate: number }> }
    // Not the old rule's case: the candidate's metric differs on every seed.
    expect(new Set(verdict.trials.map((t) => t.candidate)).size).toBe(5)
    expect(verdict.seedSpread.ratio).toBeLessThan(1e-3)
    expect(standing(await snapshot(a.running))).toEqual(standing(before))
  }

  it('is rejected as seed-insensitive, and the best and credit stay as they were', async () => {
    arena = await startArena({ cause: NOISY })
    await expectRejected(arena)
  })

  it('is rejected even when evaluate samples its held-out split by the seed: evaluate never sees it', async () => {
    // Frozen evaluate that draws its "held-out split" from AUTORESEARCH_SEED when it has one:
    // given the seed, it would add spread of its own to every candidate's metric.
    const cause = causeWith(NOISY, () => {})
    const path = join(cause, 'evaluate.py')
    const original = readFileSync(path, 'utf8')
    const line = 'json.dump({"metric": float(value), "memory_gb": 0.0}, f)'
    expect(original).toContain(line)
    writeFileSync(path, original
      .replace('import os\n', 'import os\nimport random\n')
      .replace(line, 'split = random.Random(os.environ.get("AUTORESEARCH_SEED", "fixed")).gauss(0.0, 0.01)\n    ' + line.replace('float(value)', 'float(value) + split')))
    arena = await startArena({ cause })
    await expectRejected(arena)
  })
})
