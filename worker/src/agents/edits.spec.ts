import { describe, expect, it } from 'vitest'
import { applyEdits, parseEdits } from './edits.ts'
import { buildPrompt } from './prompt.ts'

const files = { 'train.py': 'A = 1\nB = 2\nB = 2\n' }
const reply = (path: string, search: string, replace: string): string => `DESCRIPTION: try it\n${path}\n<<<<<<< SEARCH\n${search}\n=======\n${replace}\n>>>>>>> REPLACE\n`

describe('search/replace edits', () => {
  it('parses and applies a block (also inside a code fence)', () => {
    const { description, blocks } = parseEdits('```\n' + reply('train.py', 'A = 1', 'A = 3') + '```')
    expect(description).toBe('try it')
    expect(applyEdits(files, blocks)).toEqual({ 'train.py': 'A = 3\nB = 2\nB = 2\n' })
  })

  it.each([
    ['no description', 'train.py\n<<<<<<< SEARCH\nA = 1\n=======\nA = 2\n>>>>>>> REPLACE', /DESCRIPTION/],
    ['no block', 'DESCRIPTION: nothing', /no SEARCH\/REPLACE block/],
    ['a protected file', reply('evaluate.py', 'x', 'y'), /not an editable file/],
    ['text that is not there', reply('train.py', 'C = 9', 'C = 1'), /does not occur/],
    ['ambiguous text', reply('train.py', 'B = 2', 'B = 5'), /more than once/],
    ['a no-op', reply('train.py', 'A = 1', 'A = 1'), /change nothing/]
  ])('refuses %s with a reason the model can act on', (_, text, message) => {
    expect(() => { const { blocks } = parseEdits(text); applyEdits(files, blocks) }).toThrow(message)
  })

  it('applies blocks to any file it was given under an editable directory, and the prompt lists them', () => {
    const given = { 'src/model.py': 'WIDTH = 8\n', 'src/layers/attn.py': 'HEADS = 2\n' }
    const { blocks } = parseEdits(reply('src/layers/attn.py', 'HEADS = 2', 'HEADS = 4'))
    expect(applyEdits(given, blocks)).toEqual({ 'src/layers/attn.py': 'HEADS = 4\n' })
    const prompt = buildPrompt({ program: 'p', manifest: { metric: { name: 'loss', direction: 'minimize' }, editable: ['src/'] }, files: given, recent: [] })
    expect(prompt).toContain('You may edit only: src/.')
    expect(prompt).toContain('--- src/layers/attn.py ---\nHEADS = 2')
  })
})
