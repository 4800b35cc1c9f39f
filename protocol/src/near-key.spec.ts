import { describe, expect, it } from 'vitest'
import { constantsOf, nearKey } from './near-key.ts'

const train = 'import x\nLR = 0.01  # step\nSTEPS = 100\nprint(LR)\n'

describe('nearKey', () => {
  it('names the constants an edit moves and which way, whatever the new values', () => {
    expect(nearKey({ 'train.py': train }, { 'train.py': train.replace('0.01', '0.02') })).toBe('train.py:LR:up')
    expect(nearKey({ 'train.py': train }, { 'train.py': train.replace('0.01', '0.05') })).toBe('train.py:LR:up')
    expect(nearKey({ 'train.py': train }, { 'train.py': train.replace('0.01', '0.005').replace('100', '200') })).toBe('train.py:LR:down,train.py:STEPS:up')
  })

  it('marks other changed lines, and is null when no constant moves', () => {
    expect(nearKey({ 'train.py': train }, { 'train.py': train.replace('0.01', '0.02').replace('print(LR)', 'print(LR, STEPS)') })).toBe('train.py:LR:up,train.py:*')
    expect(nearKey({ 'train.py': train }, { 'train.py': train.replace('print(LR)', 'print(STEPS)') })).toBeNull()
  })

  it('reads module-level numeric constants only', () => {
    expect([...constantsOf('A = 1\n  B = 2\nc = 3\nD = 1e-3\nE = "x"\n')]).toEqual([['A', 1], ['D', 0.001]])
  })
})
