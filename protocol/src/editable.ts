/**
 * The one rule for "may a candidate change this path?". An `editable` entry is a file
 * (`train.py`) or a directory, written with a trailing slash (`src/`): a directory covers
 * every path below it, including files a candidate adds. An entry without the slash also
 * covers what lies below it, so a manifest that names a directory either way means the same.
 */
export function isEditable (manifest: { editable: readonly string[] }, path: string): boolean {
  return editableEntry(manifest, path) !== undefined
}

/** The `editable` entry that covers `path`, if any (for messages that name it). */
export function editableEntry (manifest: { editable: readonly string[] }, path: string): string | undefined {
  return manifest.editable.find((entry) => {
    const dir = entry.endsWith('/') ? entry : `${entry}/`
    return path === entry || path.startsWith(dir)
  })
}

/** Whether an `editable` entry names a directory (its files are not known from the manifest alone). */
export function isEditableDirectory (entry: string): boolean {
  return entry.endsWith('/')
}
