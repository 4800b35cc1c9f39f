import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseManifest } from '@autoresearch/protocol'
import { protectedHash, trialFiles } from './files.ts'

function dir (files: Record<string, string>): string {
  const root = fs.mkdtempSync(join(tmpdir(), 'ar-files-'))
  for (const [path, text] of Object.entries(files)) {
    fs.mkdirSync(join(root, path, '..'), { recursive: true })
    fs.writeFileSync(join(root, path), text)
  }
  return root
}

describe('trialFiles with an editable directory ("src/")', () => {
  const manifest = parseManifest({ name: 'x', editable: ['src/'], train: { command: ['python3', 'src/train.py'] }, metric: { name: 'm', direction: 'minimize', stdoutPattern: 'm: ([0-9.]+)' }, verification: { minImprovement: 0 } })

  it('takes every file under src/ from the candidate, new ones included, and every protected file from the best', async () => {
    const best = dir({ 'prepare.py': 'frozen', 'src/train.py': 'old', 'src/gone.py': 'deleted by the candidate' })
    const candidate = dir({ 'prepare.py': 'tampered', 'src/train.py': 'new', 'src/deep/added.py': 'added' })
    const { protectedFiles, editableFiles } = await trialFiles(manifest, candidate, best)
    const read = (f: { root: string, path: string }): [string, string] => [f.path, fs.readFileSync(join(f.root, f.path), 'utf8')]
    expect(protectedFiles.map(read)).toEqual([['prepare.py', 'frozen']])
    expect(editableFiles.map(read)).toEqual([['src/deep/added.py', 'added'], ['src/train.py', 'new']])
  })
})

describe('protectedHash', () => {
  it('keys the files by path, length and content in their order, as one file at a time did, past one slice', async () => {
    const files = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`p/${String(i).padStart(2, '0')}.py`, 'x'.repeat(i * 37)]))
    const root = dir(files)
    const listed = Object.keys(files).map((path) => ({ root, path, mode: 0o644 }))
    const expected = createHash('sha256')
    for (const [path, text] of Object.entries(files)) expected.update(`${path}\0${text.length}\0`).update(text)
    expect(await protectedHash(listed)).toBe(expected.digest('hex'))
    expect(await protectedHash([...listed].reverse())).not.toBe(await protectedHash(listed))
  })
})
