import { describe, expect, it } from 'vitest'
import { agentDescription } from './command.ts'
import { describeEdit } from './describe.ts'

const TRAIN = 'LEARNING_RATE = 0.01\nSTEPS = 100\n\ndef train():\n    pass\n'

describe('describing an edit from its diff', () => {
  it('names the constants it moves, and the files whose other lines changed', () => {
    expect(describeEdit({ 'train.py': TRAIN }, { 'train.py': TRAIN.replace('0.01', '0.02') })).toBe('LEARNING_RATE 0.01 -> 0.02')
    const both = TRAIN.replace('STEPS = 100', 'STEPS = 200').replace('    pass', '    x = 1\n    return x')
    expect(describeEdit({ 'train.py': TRAIN }, { 'train.py': both, 'src/new.py': 'A = 1\n' })).toBe('added src/new.py; STEPS 100 -> 200; edited train.py (+2 -1 lines)')
    expect(describeEdit({ 'train.py': TRAIN }, { 'train.py': `WARMUP = 10\n${TRAIN}` })).toBe('WARMUP = 10 added')
  })

  it('a command agent\'s description: its last DESCRIPTION: line, else the diff, never its command line', () => {
    const edits = { 'train.py': TRAIN.replace('0.01', '0.02') }
    expect(agentDescription('thinking\nDESCRIPTION: draft\nDESCRIPTION: raise the learning rate\n', { 'train.py': TRAIN }, edits)).toBe('raise the learning rate')
    expect(agentDescription('/home/ann/tweak.sh: done\n', { 'train.py': TRAIN }, edits)).toBe('LEARNING_RATE 0.01 -> 0.02')
  })
})
