import { describe, expect, it } from 'vitest'
import { experimentDiff, parseManifest } from '@autoresearch/protocol'
import { searchAgent } from './search.ts'

const manifest = parseManifest({ name: 't', editable: ['train.py'], train: { command: ['python3', 'train.py'] }, evaluate: { command: ['python3', 'evaluate.py'] }, metric: { name: 'loss', direction: 'minimize' }, verification: { minImprovement: 0.01 } })
const checkout = async (): Promise<void> => {}
const TRAIN = 'import os\nLEARNING_RATE = 0.01  # step size\nHIDDEN = 8\nname = 3\n    INDENTED = 4\n'

describe('search agent', () => {
  it('changes exactly one module-level NAME = number constant and says which', async () => {
    const agent = searchAgent({ seed: 42 })
    for (let i = 0; i < 30; i++) {
      const proposal = await agent.propose({ manifest, program: '', files: { 'train.py': TRAIN }, recent: [], checkout })
      expect(proposal).not.toBeNull()
      const after = proposal!.edits['train.py']!.split('\n')
      const before = TRAIN.split('\n')
      const changed = before.filter((line, j) => line !== after[j])
      expect(changed).toHaveLength(1)
      expect(changed[0]).toMatch(/^(LEARNING_RATE|HIDDEN) = /)
      expect(proposal!.description).toMatch(/^(LEARNING_RATE|HIDDEN) \S+ -> \S+$/)
      expect(after[1]).toMatch(/^LEARNING_RATE = [0-9.e-]+  # step size$/)
      expect(after[2]).toMatch(/^HIDDEN = \d+$/)
    }
  })

  it('is reproducible from its seed', async () => {
    const run = async (): Promise<string[]> => {
      const agent = searchAgent({ seed: 7 })
      const out: string[] = []
      for (let i = 0; i < 5; i++) out.push((await agent.propose({ manifest, program: '', files: { 'train.py': TRAIN }, recent: [], checkout }))!.description)
      return out
    }
    expect(await run()).toEqual(await run())
  })

  it('proposes nothing when there is nothing to tune', async () => {
    expect(await searchAgent({ seed: 1 }).propose({ manifest, program: '', files: { 'train.py': 'print(1)\n' }, recent: [], checkout })).toBeNull()
  })
})

describe('search agent and the network', () => {
  it('skips an edit already tried on this best and draws another', async () => {
    const first = await searchAgent({ seed: 11 }).propose({ manifest, program: '', files: { 'train.py': TRAIN }, recent: [], checkout })
    const tried = new Set([experimentDiff({ 'train.py': TRAIN }, first!.edits).diffHash])
    const next = await searchAgent({ seed: 11 }).propose({ manifest, program: '', files: { 'train.py': TRAIN }, recent: [], checkout, tried })
    expect(next).not.toBeNull()
    expect(next!.description).not.toBe(first!.description)
    expect(tried.has(experimentDiff({ 'train.py': TRAIN }, next!.edits).diffHash)).toBe(false)
  })

  it('proposes nothing when every edit it draws was tried', async () => {
    const one = 'ONLY = 1\n'
    const tried = new Set(['ONLY = 0', 'ONLY = 2'].map((line) => experimentDiff({ 'train.py': one }, { 'train.py': `${line}\n` }).diffHash))
    expect(await searchAgent({ seed: 3 }).propose({ manifest, program: '', files: { 'train.py': one }, recent: [], checkout, tried })).toBeNull()
  })
})

describe('search agent and the planner', () => {
  it('follows a hypothesis: the constant it names, the way it says', async () => {
    const agent = searchAgent({ seed: 5 })
    for (let i = 0; i < 10; i++) {
      const p = await agent.propose({ manifest, program: '', files: { 'train.py': TRAIN }, recent: [], checkout, hypothesis: { id: 1, text: 'Raise LEARNING_RATE in train.py' } })
      const value = Number(p!.description.split(' -> ')[1])
      expect(p!.description).toMatch(/^LEARNING_RATE 0\.01 -> /)
      expect(value).toBeGreaterThan(0.01)
    }
    const down = await agent.propose({ manifest, program: '', files: { 'train.py': TRAIN }, recent: [], checkout, hypothesis: { id: 2, text: 'lower HIDDEN' } })
    expect(down!.description).toBe('HIDDEN 8 -> 6')
  })

  it('takes larger steps on a plateau', async () => {
    const agent = searchAgent({ seed: 9 })
    for (let i = 0; i < 20; i++) {
      const p = await agent.propose({ manifest, program: '', files: { 'train.py': TRAIN }, recent: [], checkout, bold: true })
      const [name, from, , to] = p!.description.split(' ')
      const ratio = Number(to) / Number(from)
      if (name === 'LEARNING_RATE') expect(ratio <= 0.4 || ratio >= 2.5).toBe(true)
      else expect(Math.abs(Number(to) - Number(from))).toBeGreaterThanOrEqual(4)
    }
  })
})
