import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadState, REMEMBERED, saveState, type SavedState } from './state.ts'

const state: SavedState = {
  base: { commit: 'b', metric: 1 }, local: { commit: 'l', metric: 0.9 }, keptSinceBase: ['x'], lastClaim: 0.9, noise: 0.01, noiseAge: 2, noiseHardware: 'cpu', pending: [3], experiments: 4,
  unsent: [{ fields: { causeId: 'c'.repeat(64), parent: 'a'.repeat(40), candidate: 'b'.repeat(40), claimedMetric: 0.9, logDigest: 'd'.repeat(64), description: 'x', profile: { name: 'ada' } }, attempts: 2 }],
  tried: ['l'], submittedTrees: ['t'], deltas: [{ tree: 'd', local: 'l' }]
}
const statePath = (): string => join(mkdtempSync(join(tmpdir(), 'ar-state-')), 'state.json')

describe('state.json', () => {
  it('reads back what was saved, with no temp file left', () => {
    const path = statePath()
    saveState(path, state)
    expect(loadState(path)).toEqual(state)
    expect(() => readFileSync(`${path}.tmp`)).toThrow()
  })

  it('reads a state file written before confirmed bests and submitted trees were kept', () => {
    const path = statePath()
    const { tried: _t, submittedTrees: _s, deltas: _d, ...older } = state
    writeFileSync(path, JSON.stringify(older))
    const loaded = loadState(path)
    expect(loaded).toEqual(older)
    expect(loaded?.tried).toBeUndefined()
    expect(loaded?.submittedTrees).toBeUndefined()
  })

  it('keeps only the newest confirmed bests, submitted trees and finds sent alone, in their order', () => {
    const path = statePath()
    const many = Array.from({ length: REMEMBERED + 10 }, (_, i) => `c${i}`)
    saveState(path, { ...state, tried: many, submittedTrees: many.map((c) => `t${c}`), deltas: many.map((c) => ({ tree: `t${c}`, local: c })) })
    const loaded = loadState(path)
    expect(loaded?.tried).toEqual(many.slice(10))
    expect(loaded?.submittedTrees).toEqual(many.slice(10).map((c) => `t${c}`))
    expect(loaded?.deltas).toEqual(many.slice(10).map((c) => ({ tree: `t${c}`, local: c })))
    expect(loaded?.tried?.at(-1)).toBe(`c${REMEMBERED + 9}`)
  })

  it('is absent when missing or damaged: the loop starts from the best', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ar-state-'))
    expect(loadState(join(dir, 'none.json'))).toBeUndefined()
    writeFileSync(join(dir, 'bad.json'), '{"base": 1')
    expect(loadState(join(dir, 'bad.json'))).toBeUndefined()
    writeFileSync(join(dir, 'wrong.json'), JSON.stringify({ ...state, local: null }))
    expect(loadState(join(dir, 'wrong.json'))).toBeUndefined()
  })
})
