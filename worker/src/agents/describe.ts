import { CONSTANT, lineDiff } from '@autoresearch/protocol'

/** A constant's literal as written, by name (the first assignment of each). */
function literals (text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of text.split('\n')) {
    const m = line.match(CONSTANT)
    if (m?.[1] !== undefined && m[3] !== undefined && !out.has(m[1])) out.set(m[1], m[3])
  }
  return out
}

/**
 * What an edit does, in words, from its diff alone: for an agent that did not say (no
 * `DESCRIPTION:` line). The constants it moves (`LEARNING_RATE 0.01 -> 0.02`, the search
 * agent's form), and for other changes the file and its line counts. Never a path outside the cause.
 */
export function describeEdit (before: Record<string, string>, edits: Record<string, string>): string {
  const parts: string[] = []
  for (const path of Object.keys(edits).sort()) {
    const old = before[path]
    const next = edits[path] ?? ''
    if (old === next) continue
    if (old === undefined) { parts.push(`added ${path}`); continue }
    const [a, b] = [literals(old), literals(next)]
    for (const [name, value] of b) {
      const was = a.get(name)
      if (was === undefined) parts.push(`${name} = ${value} added`)
      else if (Number(was) !== Number(value)) parts.push(`${name} ${was} -> ${value}`)
    }
    const strip = (t: string): string => t.split('\n').filter((l) => !CONSTANT.test(l)).join('\n')
    const other = lineDiff(strip(old), strip(next))
    if (other.added + other.removed > 0) parts.push(`edited ${path} (+${other.added} -${other.removed} lines)`)
  }
  return (parts.length === 0 ? 'no visible change' : parts.join('; ')).slice(0, 300)
}
