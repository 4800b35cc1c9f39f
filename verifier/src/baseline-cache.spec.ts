import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { TrialResult } from '@autoresearch/runner'
import { BaselineCache } from './baseline-cache.ts'

const ok = (metric: number): TrialResult => ({ ok: true, metric, result: {}, memoryGb: 0, logDigest: 'a'.repeat(64), logTail: '', durationMs: 1 })
const failed: TrialResult = { ok: false, reason: 'crash', message: 'boom', logDigest: 'b'.repeat(64), logTail: '', durationMs: 1 }

describe('BaselineCache', () => {
  const dirs: string[] = []
  const path = (): string => { const dir = mkdtempSync(join(tmpdir(), 'ar-cache-')); dirs.push(dir); return join(dir, 'baseline-cache.json') }
  afterEach(() => { for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true }) })

  it('keeps a successful run measured elsewhere, across a restart, and never a failed one', async () => {
    const file = path()
    const cache = new BaselineCache(file)
    cache.keep(BaselineCache.key('c', 1), ok(0.5))
    cache.keep(BaselineCache.key('c', 2), failed)
    const again = new BaselineCache(file)
    expect((await again.get(BaselineCache.key('c', 1)))?.ok).toBe(true)
    expect(again.has(BaselineCache.key('c', 2))).toBe(false)
  })

  it('holds at most `max` results, in memory as on disk, forgetting the oldest first', async () => {
    const file = path()
    const cache = new BaselineCache(file, { max: 3 })
    for (let seed = 1; seed <= 4; seed++) cache.keep(BaselineCache.key('c', seed), ok(seed))
    await cache.run(BaselineCache.key('c', 5), async () => ok(5))
    expect([1, 2].map((seed) => cache.has(BaselineCache.key('c', seed)))).toEqual([false, false])
    expect([3, 4, 5].map((seed) => cache.has(BaselineCache.key('c', seed)))).toEqual([true, true, true])
    expect((JSON.parse(readFileSync(file, 'utf8')) as unknown[]).length).toBe(3)
  })

  it('a result it cannot write to its file (the disk full, a file where its directory should be) is still returned and kept in memory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ar-cache-'))
    dirs.push(dir)
    writeFileSync(join(dir, 'not-a-dir'), '')
    const cache = new BaselineCache(join(dir, 'not-a-dir', 'baseline-cache.json'))
    const result = await cache.run(BaselineCache.key('c', 1), async () => ok(0.25))
    expect(result).toMatchObject({ ok: true, metric: 0.25 })
    cache.keep(BaselineCache.key('c', 2), ok(0.5))
    expect(await cache.get(BaselineCache.key('c', 1))).toMatchObject({ metric: 0.25 })
    expect(await cache.get(BaselineCache.key('c', 2))).toMatchObject({ metric: 0.5 })
  })
})
