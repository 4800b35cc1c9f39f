import { describe, expect, it } from 'vitest'
import { experimentDiff } from './experiment-diff.ts'

const train = 'import x\nLR = 0.01\nSTEPS = 100\nprint(LR)\n'

describe('experimentDiff', () => {
  it('writes a unified diff of the changed files', () => {
    const { diff, truncated } = experimentDiff({ 'train.py': train }, { 'train.py': train.replace('0.01', '0.02') })
    expect(diff).toBe('--- a/train.py\n+++ b/train.py\n@@ -1,4 +1,4 @@\n import x\n-LR = 0.01\n+LR = 0.02\n STEPS = 100\n print(LR)\n')
    expect(truncated).toBe(false)
  })

  it('hashes the same change the same, whatever its spacing or place', () => {
    const a = experimentDiff({ 'train.py': train }, { 'train.py': train.replace('LR = 0.01', 'LR = 0.02') })
    const spaced = experimentDiff({ 'train.py': train }, { 'train.py': train.replace('LR = 0.01', 'LR=0.02  ') })
    const moved = experimentDiff({ 'train.py': `# header\n${train}` }, { 'train.py': `# header\n${train.replace('LR = 0.01', 'LR = 0.02')}` })
    expect(spaced.diffHash).toBe(a.diffHash)
    expect(moved.diffHash).toBe(a.diffHash)
  })

  it('hashes another change, direction or file differently', () => {
    const up = experimentDiff({ 'train.py': train }, { 'train.py': train.replace('0.01', '0.02') }).diffHash
    const down = experimentDiff({ 'train.py': train }, { 'train.py': train.replace('0.01', '0.005') }).diffHash
    const elsewhere = experimentDiff({ 'model.py': train }, { 'model.py': train.replace('0.01', '0.02') }).diffHash
    expect(new Set([up, down, elsewhere]).size).toBe(3)
  })

  it('cuts a long diff but hashes the whole change', () => {
    const long = train + 'X = 1\n'.repeat(5000)
    const a = experimentDiff({ 'train.py': train }, { 'train.py': long }, 500)
    const b = experimentDiff({ 'train.py': train }, { 'train.py': `${long}Y = 2\n` }, 500)
    expect(a.truncated).toBe(true)
    expect(a.diff.length).toBe(500)
    expect(a.diffHash).not.toBe(b.diffHash)
  })

  it('leaves out files the edit does not change, and new files diff against nothing', () => {
    const { diff } = experimentDiff({ 'train.py': train }, { 'train.py': train, 'extra.py': 'A = 1\n' })
    expect(diff).toBe('--- a/extra.py\n+++ b/extra.py\n@@ -0,0 +1,1 @@\n+A = 1\n')
  })
})
