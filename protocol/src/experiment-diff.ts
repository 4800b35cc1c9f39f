import { createHash } from 'node:crypto'
import { editScript, hunksOf } from './line-diff.ts'
import { MAX_REPORT_DIFF_CHARS } from './messages.ts'

export interface ExperimentDiff {
  /** A unified diff (`--- a/…`, `+++ b/…`, hunks), cut at `maxChars`. */
  diff: string
  /** sha-256 of the normalized change: the same edit gives the same hash whoever made it. */
  diffHash: string
  truncated: boolean
}

/** A changed line as the hash sees it: whitespace removed, so reindenting or respacing is no new idea. */
const normalized = (text: string): string => text.replace(/\s+/g, '')

/**
 * An agent's edit (new contents of the files it changes) against the files it was made on.
 * The hash covers, per changed path in sorted order, only the removed and added lines
 * without whitespace: not line numbers or context, so the same change on the same best
 * hashes the same even when the agent wrote it with other spacing. Whole files are hashed
 * even when the diff text is cut.
 */
export function experimentDiff (before: Record<string, string>, edits: Record<string, string>, maxChars = MAX_REPORT_DIFF_CHARS): ExperimentDiff {
  const hash = createHash('sha256')
  const parts: string[] = []
  for (const path of Object.keys(edits).sort()) {
    const old = before[path] ?? ''
    const next = edits[path] ?? ''
    if (old === next) continue
    const script = editScript(old, next)
    hash.update(`${path}\0`)
    for (const l of script.ops) {
      const text = normalized(l.text)
      if (l.op !== ' ' && text !== '') hash.update(`${l.op}${text}\n`)
    }
    parts.push(`--- a/${path}\n+++ b/${path}\n`)
    for (const h of hunksOf(script).hunks) {
      parts.push(`@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@\n`)
      for (const l of h.lines) parts.push(`${l.op}${l.text}\n`)
    }
  }
  const whole = parts.join('')
  const truncated = whole.length > maxChars
  return { diff: truncated ? whole.slice(0, maxChars) : whole, diffHash: hash.digest('hex'), truncated }
}
