/**
 * The one rule for "may a candidate change this path?". An `editable` entry is a file
 * (`train.py`), which covers that path only, or a directory written with a trailing slash
 * (`src/`), which covers every path below it, including files a candidate adds. A file
 * entry never covers paths below it: a candidate that turns `train.py` into a directory
 * `train.py/` adds protected paths. A rename is a deletion and an addition: it is allowed
 * only when both paths are editable.
 */
export function isEditable (manifest: { editable: readonly string[] }, path: string): boolean {
  return editableEntry(manifest, path) !== undefined
}

/** The `editable` entry that covers `path`, if any (for messages that name it). */
export function editableEntry (manifest: { editable: readonly string[] }, path: string): string | undefined {
  return manifest.editable.find((entry) => isEditableDirectory(entry) ? path.startsWith(entry) : path === entry)
}

/** Whether an `editable` entry names a directory (its files are not known from the manifest alone). */
export function isEditableDirectory (entry: string): boolean {
  return entry.endsWith('/')
}

/** Of `changes`, those a candidate may not make (the protected paths it touches). */
export function protectedChanges<T extends { path: string }> (manifest: { editable: readonly string[] }, changes: readonly T[]): T[] {
  return changes.filter((c) => !isEditable(manifest, c.path))
}

/**
 * What is wrong with a cause's `editable` entries given the files it holds (`where` names the
 * cause for the messages): a file entry must be a file; a directory entry (`src/`) must be a
 * directory holding at least one file.
 */
export function editableProblems (manifest: { editable: readonly string[] }, files: Iterable<string>, where: string): string[] {
  const all = new Set(files)
  const under = (dir: string): boolean => [...all].some((f) => f.startsWith(dir))
  const problems: string[] = []
  for (const entry of manifest.editable) {
    if (!isEditableDirectory(entry)) {
      if (all.has(entry)) continue
      problems.push(under(`${entry}/`)
        ? `editable "${entry}" is a directory in ${where}; write it "${entry}/" (a directory entry ends with "/")`
        : `editable "${entry}" is not in ${where}`)
    } else if (!under(entry)) {
      const name = entry.slice(0, -1)
      problems.push(all.has(name)
        ? `editable "${entry}" names a directory, but ${name} is a file in ${where} (write "${name}" for a file)`
        : `editable "${entry}" is not in ${where} (a directory entry must hold at least one file)`)
    }
  }
  return problems
}
