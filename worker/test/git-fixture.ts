import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import git from 'isomorphic-git'
import { commitWithChanges, ensureBareRepo, gitFs, writeNestedTree } from '@autoresearch/protocol'

/** A bare repository (in a temp dir unless `gitdir` is given) with a root commit holding `files`. */
export async function repoWith (files: Record<string, string>, gitdir = join(mkdtempSync(join(tmpdir(), 'ar-worker-git-')), 'cause.git')): Promise<{ gitdir: string, root: string }> {
  await ensureBareRepo(gitdir)
  const entries = new Map<string, { oid: string, mode: string }>()
  for (const [path, text] of Object.entries(files)) entries.set(path, { oid: await git.writeBlob({ fs: gitFs, gitdir, blob: new TextEncoder().encode(text) }), mode: '100644' })
  const author = { name: 't', email: 't@t.invalid', timestamp: 0, timezoneOffset: 0 }
  const root = await git.writeCommit({ fs: gitFs, gitdir, commit: { tree: await writeNestedTree(gitdir, entries), parent: [], author, committer: author, message: 'root\n' } })
  return { gitdir, root }
}

/** A commit on `parent` with `changes` (null deletes). */
export async function change (gitdir: string, parent: string, changes: Record<string, string | null>, message = 'change'): Promise<string> {
  return commitWithChanges(gitdir, parent, changes, message)
}
