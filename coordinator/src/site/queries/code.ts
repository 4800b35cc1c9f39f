import { isEditable, MANIFEST_FILE } from '@autoresearch/protocol'
import type { SiteDeps } from './deps.ts'
import type { CommitFiles, FileText } from './files.ts'
import type { MergeView } from './merges.ts'

/** The most of one file a page or the API shows (characters); the rest is cut, and the view says so. */
export const MAX_FILE_CHARS = 200_000

/** Which files a volunteer's agent may change (editable) and which are frozen (protected). */
export interface CodeFile {
  path: string
  editable: boolean
  /** The cause's program.md (the agent's instructions; the manifest may name another path). */
  program: boolean
}

/** The files of a commit that is or was the best. */
export interface CodeView {
  commit: string
  /** `initial`: the cause's first commit; `best`: the best now; `past`: a best since replaced. */
  kind: 'initial' | 'best' | 'past'
  initial: string
  best: string
  program: string
  files: CodeFile[]
}

export interface FileView extends CodeFile, FileText {
  commit: string
  kind: CodeView['kind']
}

/** The commits whose files are public: every commit that is or was the best (never a pending candidate's). */
export function publishedBests (merges: MergeView[]): Set<string> {
  return new Set(merges.map((m) => m.commit))
}

export const fileOf = (manifest: SiteDeps['manifest'], path: string): CodeFile => ({
  path, editable: path !== MANIFEST_FILE && isEditable(manifest, path), program: path === manifest.program
})

function kindOf (commit: string, merges: MergeView[], best: string): CodeView['kind'] {
  if (commit === best) return 'best'
  return merges.some((m) => m.kind === 'initial' && m.commit === commit) ? 'initial' : 'past'
}

/** A published best's files with their marks; undefined for any other commit. */
export async function code (deps: Pick<SiteDeps, 'manifest' | 'status'>, files: Pick<CommitFiles, 'paths'>, merges: MergeView[], commit: string): Promise<CodeView | undefined> {
  if (!publishedBests(merges).has(commit)) return undefined
  const best = deps.status().best.commit
  const initial = merges.find((m) => m.kind === 'initial')?.commit ?? commit
  const paths = await files.paths(commit)
  return { commit, kind: kindOf(commit, merges, best), initial, best, program: deps.manifest.program, files: paths.map((p) => fileOf(deps.manifest, p)) }
}

/** One file of a published best, as escaped-ready text (cut at MAX_FILE_CHARS); undefined when there is no such file there. */
export async function file (deps: Pick<SiteDeps, 'manifest' | 'status'>, files: Pick<CommitFiles, 'text'>, merges: MergeView[], commit: string, path: string): Promise<FileView | undefined> {
  if (!publishedBests(merges).has(commit)) return undefined
  const text = await files.text(commit, path, MAX_FILE_CHARS)
  if (text === undefined) return undefined
  return { commit, kind: kindOf(commit, merges, deps.status().best.commit), ...fileOf(deps.manifest, path), ...text }
}
