import { describe, expect, it } from 'vitest'
import { editableEntry, editableProblems, isEditable, protectedChanges } from './editable.ts'

describe('isEditable', () => {
  const manifest = { editable: ['train.py', 'src/', 'lib'] }

  it('matches a file entry exactly, never a sibling with the same prefix nor a path below it', () => {
    expect(isEditable(manifest, 'train.py')).toBe(true)
    expect(isEditable(manifest, 'train.pyc')).toBe(false)
    // train.py turned into a directory adds protected paths (tests/adversarial/trees.test.ts).
    expect(isEditable(manifest, 'train.py/__init__.py')).toBe(false)
  })

  it('covers every path below a directory entry, new files included', () => {
    expect(isEditable(manifest, 'src/model.py')).toBe(true)
    expect(isEditable(manifest, 'src/deep/new_file.py')).toBe(true)
    expect(isEditable(manifest, 'src')).toBe(false)
    expect(isEditable(manifest, 'srcx/model.py')).toBe(false)
  })

  it('treats an entry without a slash as a file: only the slash makes a directory', () => {
    expect(isEditable(manifest, 'lib')).toBe(true)
    expect(isEditable(manifest, 'lib/a.py')).toBe(false)
    expect(isEditable(manifest, 'library/a.py')).toBe(false)
  })

  it('protects everything else', () => {
    expect(isEditable(manifest, 'prepare.py')).toBe(false)
    expect(isEditable(manifest, 'autoresearch.json')).toBe(false)
    expect(editableEntry(manifest, 'src/a/b.py')).toBe('src/')
    expect(editableEntry(manifest, 'evaluate.py')).toBeUndefined()
  })
})

describe('protectedChanges', () => {
  it('keeps the changes outside every entry, renames included (a deletion and an addition)', () => {
    const manifest = { editable: ['src/'] }
    const renamedOut = [{ path: 'src/a.py', change: 'deleted' }, { path: 'a.py', change: 'added' }]
    const renamedIn = [{ path: 'prepare.py', change: 'deleted' }, { path: 'src/prepare.py', change: 'added' }]
    expect(protectedChanges(manifest, renamedOut)).toEqual([{ path: 'a.py', change: 'added' }])
    expect(protectedChanges(manifest, renamedIn)).toEqual([{ path: 'prepare.py', change: 'deleted' }])
    expect(protectedChanges(manifest, [{ path: 'src/new.py', change: 'added' }, { path: 'src/b/c.py', change: 'modified' }])).toEqual([])
  })
})

describe('editableProblems', () => {
  const files = ['train.py', 'src/a.py', 'src/b/c.py', 'lib/x.py', 'evaluate.py']

  it('accepts a file entry naming a file and a directory entry naming a directory with files', () => {
    expect(editableProblems({ editable: ['train.py', 'src/', 'src/b/', 'lib/'] }, files, 'cause')).toEqual([])
  })

  it('names an entry that is missing, an empty or absent directory, and a directory entry that is a file', () => {
    expect(editableProblems({ editable: ['model.py'] }, files, 'cause')).toEqual(['editable "model.py" is not in cause'])
    expect(editableProblems({ editable: ['empty/'] }, files, 'cause')).toEqual(['editable "empty/" is not in cause (a directory entry must hold at least one file)'])
    expect(editableProblems({ editable: ['train.py/'] }, files, 'cause')).toEqual(['editable "train.py/" names a directory, but train.py is a file in cause (write "train.py" for a file)'])
    expect(editableProblems({ editable: ['sr/'] }, files, 'cause')).toHaveLength(1)
    expect(editableProblems({ editable: ['lib'] }, files, 'cause')).toEqual(['editable "lib" is a directory in cause; write it "lib/" (a directory entry ends with "/")'])
  })
})
