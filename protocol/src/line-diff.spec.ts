import { describe, expect, it } from 'vitest'
import { lineDiff } from './line-diff.ts'

const render = (before: string, after: string): string => lineDiff(before, after).hunks
  .map((h) => [`@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`, ...h.lines.map((l) => l.op + l.text)].join('\n')).join('\n')

const lines = (n: number, f: (i: number) => string = (i) => `line ${i}`): string => Array.from({ length: n }, (_, i) => f(i + 1)).join('\n') + '\n'

describe('line diff', () => {
  it('gives unified hunks with three lines of context, like diff -u', () => {
    const before = lines(20)
    const after = before.replace('line 5\n', 'line five\n').replace('line 16\n', '')
    expect(render(before, after)).toBe([
      '@@ -2,7 +2,7 @@', ' line 2', ' line 3', ' line 4', '-line 5', '+line five', ' line 6', ' line 7', ' line 8',
      '@@ -13,7 +13,6 @@', ' line 13', ' line 14', ' line 15', '-line 16', ' line 17', ' line 18', ' line 19'
    ].join('\n'))
  })

  it('joins changes closer than twice the context into one hunk, and handles added and deleted files', () => {
    const before = lines(12)
    const after = before.replace('line 3\n', 'x\n').replace('line 8\n', 'y\n')
    expect(lineDiff(before, after).hunks).toHaveLength(1)
    expect(lineDiff('', 'a\nb\n')).toMatchObject({ added: 2, removed: 0, hunks: [{ oldStart: 0, newStart: 1, newLines: 2 }] })
    expect(lineDiff('a\nb\n', '')).toMatchObject({ added: 0, removed: 2 })
    expect(lineDiff('same\n', 'same\n').hunks).toEqual([])
  })

  it('stays bounded: a huge rewrite is shown as removed then added, and the output is capped', () => {
    const before = lines(4000, (i) => `old ${i}`)
    const after = lines(4000, (i) => `new ${i}`)
    const started = Date.now()
    const d = lineDiff(before, after)
    expect(Date.now() - started).toBeLessThan(2000)
    expect(d.approximate).toBe(true)
    expect(d.added).toBe(4000)
    expect(d.removed).toBe(4000)
    expect(d.truncated).toBe(true)
    expect(d.hunks.reduce((n, h) => n + h.lines.length, 0)).toBeLessThanOrEqual(3000)
    const long = lineDiff('a\n', `${'z'.repeat(50_000)}\n`)
    expect(long.hunks[0]?.lines[1]?.text.length).toBeLessThan(20_100)
  })
})
