import { commitTree, flattenTree, isEditable, isEditableDirectory, readFileAt, type Manifest } from '@autoresearch/protocol'

/**
 * Current contents of every editable file of `commit`, by path, in the manifest's order:
 * each file entry (empty when the commit lacks it, so the agent may create it), then
 * every file below a directory entry.
 */
export async function editableFiles (gitdir: string, manifest: Pick<Manifest, 'editable'>, commit: string): Promise<Record<string, string>> {
  const tree = await flattenTree(gitdir, (await commitTree(gitdir, commit)).tree)
  const paths = [...tree.keys()]
  const files: Record<string, string> = {}
  for (const entry of manifest.editable) {
    if (isEditableDirectory(entry)) continue
    files[entry] = await readFileAt(gitdir, commit, entry) ?? ''
  }
  for (const path of paths) {
    if (files[path] === undefined && isEditable(manifest, path)) files[path] = await readFileAt(gitdir, commit, path) ?? ''
  }
  return files
}
