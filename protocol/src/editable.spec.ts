import { describe, expect, it } from 'vitest'
import { editableEntry, isEditable } from './editable.ts'

describe('isEditable', () => {
  const manifest = { editable: ['train.py', 'src/', 'lib'] }

  it('matches a file entry exactly, never a sibling with the same prefix', () => {
    expect(isEditable(manifest, 'train.py')).toBe(true)
    expect(isEditable(manifest, 'train.pyc')).toBe(false)
    expect(isEditable(manifest, 'train.py/x')).toBe(true)
  })

  it('covers every path below a directory entry, new files included', () => {
    expect(isEditable(manifest, 'src/model.py')).toBe(true)
    expect(isEditable(manifest, 'src/deep/new_file.py')).toBe(true)
    expect(isEditable(manifest, 'src')).toBe(false)
    expect(isEditable(manifest, 'srcx/model.py')).toBe(false)
  })

  it('treats an entry without a slash as covering what lies below it', () => {
    expect(isEditable(manifest, 'lib/a.py')).toBe(true)
    expect(isEditable(manifest, 'library/a.py')).toBe(false)
  })

  it('protects everything else', () => {
    expect(isEditable(manifest, 'prepare.py')).toBe(false)
    expect(isEditable(manifest, 'autoresearch.json')).toBe(false)
    expect(editableEntry(manifest, 'src/a/b.py')).toBe('src/')
    expect(editableEntry(manifest, 'evaluate.py')).toBeUndefined()
  })
})
