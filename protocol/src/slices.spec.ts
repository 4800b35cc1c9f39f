import * as fs from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { inSlices, makeParentDirs } from './slices.ts'

describe('inSlices', () => {
  it('keeps the items\' order and never runs more than a slice at once', async () => {
    let running = 0
    let most = 0
    const out = await inSlices([5, 1, 4, 2, 3, 0, 6], 3, async (n) => {
      running++
      most = Math.max(most, running)
      await new Promise((resolve) => setTimeout(resolve, n))
      running--
      return n * 10
    })
    expect(out).toEqual([50, 10, 40, 20, 30, 0, 60])
    expect(most).toBe(3)
  })

  it('takes nothing and refuses a slice that is not a positive integer', async () => {
    expect(await inSlices([], 4, async () => 1)).toEqual([])
    await expect(inSlices([1], 0, async (n) => n)).rejects.toThrow(RangeError)
    await expect(inSlices([1], 1.5, async (n) => n)).rejects.toThrow(RangeError)
  })

  it('rejects with the first failure of a slice and starts no later slice', async () => {
    const started: number[] = []
    await expect(inSlices([1, 2, 3, 4], 2, async (n) => {
      started.push(n)
      if (n === 2) throw new Error('two')
      return n
    })).rejects.toThrow('two')
    expect(started).toEqual([1, 2])
  })
})

describe('makeParentDirs', () => {
  it('makes the root and every file\'s directory, nested and shared ones included', async () => {
    const root = join(fs.mkdtempSync(join(tmpdir(), 'ar-slices-')), 'root')
    await makeParentDirs(root, ['a.py', 'src/b.py', 'src/deep/c.py', 'src/deep/d.py', 'other/e.py'])
    for (const dir of ['', 'src', 'src/deep', 'other']) expect(fs.statSync(join(root, dir)).isDirectory()).toBe(true)
    expect(fs.readdirSync(root).sort()).toEqual(['other', 'src'])
    await makeParentDirs(join(root, 'empty'), [])
    expect(fs.readdirSync(join(root, 'empty'))).toEqual([])
  })
})
