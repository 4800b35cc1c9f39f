import { describe, expect, it } from 'vitest'
import { publicText } from './secrets.ts'

describe('what a description may say to the network', () => {
  it('cuts every path of this machine to its file name, or hides it', () => {
    expect(publicText('/home/ann/bin/tweak.sh edited train.py')).toBe('tweak.sh edited train.py')
    expect(publicText('ran ~/agents/tweak.sh in /tmp/autoresearch-agent-x1/work')).toBe('ran tweak.sh in work')
    expect(publicText('see /home/ann for details')).toBe('see <path> for details')
    expect(publicText('"C:\\Users\\ann\\tweak.ps1" (file:///home/ann/x.py)')).toBe('"tweak.ps1" (x.py)')
    expect(publicText('python=/usr/bin/python3')).toBe('python=python3')
  })

  it('leaves the cause\'s own words alone: relative paths, ratios, arrows', () => {
    for (const text of ['LEARNING_RATE 0.01 -> 0.02', 'edited src/model.py (+3 -1 lines)', 'lr 1/2 and/or warmup 3/4', 'x = a / b']) expect(publicText(text)).toBe(text)
  })

  it('is one line of at most 300 characters', () => {
    expect(publicText('a\n\tb   c')).toBe('a b c')
    expect(publicText('x'.repeat(400))).toHaveLength(300)
  })
})
