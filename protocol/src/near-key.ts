/** A module-level `NAME = number` line: what the search agent tunes and what near-duplicates compare. */
export const CONSTANT = /^([A-Z][A-Z0-9_]*)(\s*=\s*)(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(.*)$/

/** The module-level numeric constants of a file, by name (the first assignment of each). */
export function constantsOf (text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    const m = line.match(CONSTANT)
    if (m?.[1] !== undefined && !out.has(m[1])) out.set(m[1], Number(m[3]))
  }
  return out
}

/** Keys with no constant line in them: a line that is not `NAME = number` changed in that file. */
const otherLines = (before: string, after: string): boolean => {
  const strip = (t: string): string[] => t.split('\n').filter((l) => !CONSTANT.test(l))
  const a = strip(before)
  const b = strip(after)
  return a.length !== b.length || a.some((l, i) => l !== b[i])
}

/**
 * What an edit does, coarsely: which constants of which files it moves, and which way
 * (`train.py:LEARNING_RATE:up`), plus `path:*` when other lines of the file changed too.
 * Two edits with the same key are near-duplicates (issue [collab]: same files, same
 * constants, same direction) even when their values differ. Null when the edit moves no
 * constant: nothing to compare but the exact diff.
 */
export function nearKey (before: Record<string, string>, edits: Record<string, string>): string | null {
  const parts: string[] = []
  let moved = false
  for (const path of Object.keys(edits).sort()) {
    const old = before[path] ?? ''
    const next = edits[path] ?? ''
    if (old === next) continue
    const a = constantsOf(old)
    const b = constantsOf(next)
    for (const [name, value] of [...b].sort(([x], [y]) => x.localeCompare(y))) {
      const was = a.get(name)
      if (was === undefined || was === value) continue
      parts.push(`${path}:${name}:${value > was ? 'up' : 'down'}`)
      moved = true
    }
    if (otherLines(old, next)) parts.push(`${path}:*`)
  }
  return moved ? parts.join(',') : null
}
