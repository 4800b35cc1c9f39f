/**
 * A bounded line diff (the candidate page, experiment reports). Common head and tail lines are
 * trimmed, then the middle is aligned by a longest-common-subsequence table when
 * it is small enough (MAX_CELLS); a larger middle is shown as removed-then-added,
 * which is still a correct diff, only not a minimal one. Output is capped so a
 * hostile file can never make a huge page.
 */
export interface DiffLine { op: ' ' | '+' | '-', text: string }
export interface Hunk { oldStart: number, oldLines: number, newStart: number, newLines: number, lines: DiffLine[] }
export interface LineDiff { hunks: Hunk[], added: number, removed: number, approximate: boolean, truncated: boolean }

const MAX_CELLS = 4_000_000
const CONTEXT = 3
const MAX_OUTPUT_LINES = 3000
const MAX_OUTPUT_CHARS = 600_000
const MAX_LINE_CHARS = 20_000

const splitLines = (s: string): string[] => {
  if (s === '') return []
  const lines = s.split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  return lines
}

/** Edit script of the middle part: LCS when the table fits, else all removed then all added. */
function align (a: string[], b: string[]): { ops: DiffLine[], approximate: boolean } {
  const n = a.length
  const m = b.length
  if (n * m > MAX_CELLS) {
    return { ops: [...a.map((text) => ({ op: '-' as const, text })), ...b.map((text) => ({ op: '+' as const, text }))], approximate: true }
  }
  // lcs[i * (m + 1) + j] = LCS length of a[i..] and b[j..]; min(n, m) <= 2000 when n*m <= 4e6 is not
  // guaranteed, so lengths are kept in 32 bits.
  const w = m + 1
  const lcs = new Uint32Array((n + 1) * w)
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = a[i] === b[j] ? (lcs[(i + 1) * w + j + 1] as number) + 1 : Math.max(lcs[(i + 1) * w + j] as number, lcs[i * w + j + 1] as number)
    }
  }
  const ops: DiffLine[] = []
  let i = 0
  let j = 0
  while (i < n && j < m) {
    if (a[i] === b[j]) { ops.push({ op: ' ', text: a[i++] as string }); j++ } else if ((lcs[(i + 1) * w + j] as number) >= (lcs[i * w + j + 1] as number)) ops.push({ op: '-', text: a[i++] as string })
    else ops.push({ op: '+', text: b[j++] as string })
  }
  while (i < n) ops.push({ op: '-', text: a[i++] as string })
  while (j < m) ops.push({ op: '+', text: b[j++] as string })
  return { ops, approximate: false }
}

/** Every line of `after` against `before`, kept, removed or added, uncapped (what a hash of the change reads). */
export function editScript (before: string, after: string): { ops: DiffLine[], approximate: boolean } {
  const a = splitLines(before)
  const b = splitLines(after)
  let head = 0
  while (head < a.length && head < b.length && a[head] === b[head]) head++
  let tail = 0
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++
  const middle = align(a.slice(head, a.length - tail), b.slice(head, b.length - tail))
  const ops: DiffLine[] = [
    ...a.slice(0, head).map((text) => ({ op: ' ' as const, text })),
    ...middle.ops,
    ...a.slice(a.length - tail).map((text) => ({ op: ' ' as const, text }))
  ]
  return { ops, approximate: middle.approximate }
}

export function lineDiff (before: string, after: string): LineDiff {
  return hunksOf(editScript(before, after))
}

/** An edit script grouped into capped hunks with context (what lineDiff shows). */
export function hunksOf (script: { ops: DiffLine[], approximate: boolean }): LineDiff {
  const { ops: all, approximate } = script
  const result: LineDiff = { hunks: [], added: 0, removed: 0, approximate, truncated: false }
  for (const l of all) { if (l.op === '+') result.added++; else if (l.op === '-') result.removed++ }

  // Group changes with CONTEXT lines around them into hunks.
  let oldNo = 1
  let newNo = 1
  let hunk: Hunk | undefined
  let trailing = 0
  let outLines = 0
  let outChars = 0
  const push = (l: DiffLine, o: number, nw: number): void => {
    if (hunk === undefined) {
      hunk = { oldStart: o, oldLines: 0, newStart: nw, newLines: 0, lines: [] }
      result.hunks.push(hunk)
    }
    if (outLines >= MAX_OUTPUT_LINES || outChars >= MAX_OUTPUT_CHARS) { result.truncated = true; return }
    const text = l.text.length > MAX_LINE_CHARS ? `${l.text.slice(0, MAX_LINE_CHARS)} … (${l.text.length - MAX_LINE_CHARS} more characters)` : l.text
    hunk.lines.push({ op: l.op, text })
    outLines++
    outChars += text.length
    if (l.op !== '+') hunk.oldLines++
    if (l.op !== '-') hunk.newLines++
  }
  for (let k = 0; k < all.length; k++) {
    const l = all[k] as DiffLine
    if (l.op !== ' ') {
      if (hunk === undefined) {
        for (let c = Math.max(0, k - CONTEXT); c < k; c++) push(all[c] as DiffLine, oldNo - (k - c), newNo - (k - c))
      }
      push(l, oldNo, newNo)
      trailing = 0
    } else if (hunk !== undefined) {
      // Keep the hunk open if another change follows within 2 × CONTEXT lines.
      let next = k
      while (next < all.length && next - k <= 2 * CONTEXT && (all[next] as DiffLine).op === ' ') next++
      const nearChange = next < all.length && next - k <= 2 * CONTEXT
      if (nearChange || trailing < CONTEXT) { push(l, oldNo, newNo); trailing++ }
      if (!nearChange && trailing >= CONTEXT) { hunk = undefined; trailing = 0 }
    }
    if (l.op !== '+') oldNo++
    if (l.op !== '-') newNo++
  }
  // As in diff -u, an empty range names the line before it.
  for (const hk of result.hunks) {
    if (hk.oldLines === 0) hk.oldStart--
    if (hk.newLines === 0) hk.newStart--
  }
  return result
}
