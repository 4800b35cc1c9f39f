import { describe, expect, it } from 'vitest'
import { pickHistory, type Tried } from './history.ts'

let seq = 0
const run = (metric: number | null, hash = `h${++seq}`): Tried => ({ seq: ++seq, status: metric === null ? 'crash' : 'discard', metric, diff_hash: hash })

describe('pickHistory', () => {
  it('shows the best and the worst runs of a best, half and half', () => {
    const rows = [run(1.0), run(0.5), run(2.0), run(0.7), run(null), run(1.5)].reverse()
    const picked = pickHistory([rows], 'minimize', 4).map((p) => p.row.metric)
    expect(picked).toEqual([0.5, 0.7, 2.0, null])
  })

  it('keeps one report per edit, the newest', () => {
    const old = run(0.9, 'same')
    const newer = run(0.8, 'same')
    const picked = pickHistory([[newer, old]], 'minimize', 10)
    expect(picked.map((p) => p.row)).toEqual([newer])
  })

  it('gives the asked best the larger share and passes what it leaves to the bests before', () => {
    const own = Array.from({ length: 20 }, (_, i) => run(i))
    const before = Array.from({ length: 20 }, (_, i) => run(100 + i))
    const picked = pickHistory([own, before], 'maximize', 10)
    expect(picked.filter((p) => p.bestsBack === 0)).toHaveLength(6)
    expect(picked.filter((p) => p.bestsBack === 1)).toHaveLength(4)
    const few = pickHistory([own.slice(0, 2), before], 'maximize', 10)
    expect(few.filter((p) => p.bestsBack === 1)).toHaveLength(8)
  })

  it('returns nothing for bests nobody tried anything on', () => {
    expect(pickHistory([[], []], 'minimize', 10)).toEqual([])
  })
})
