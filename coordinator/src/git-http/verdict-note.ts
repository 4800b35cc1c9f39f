import type { CandidateRow, MergeRow } from '../store/index.ts'

/** Where the verdicts are: `git log` shows this notes ref by default once it is fetched. */
export const NOTES_REF = 'refs/notes/commits'

export interface NoteFacts {
  merge: MergeRow
  /** The merged candidate (absent only in a damaged home). */
  candidate?: Pick<CandidateRow, 'seq' | 'description' | 'verdict'>
  /** Whose work it is: the submitter, or each member's for a merge group. */
  authors: string[]
  /** A merge group's members (empty for an ordinary candidate). */
  members: number[]
  metric: { name: string, direction: string }
  verification: { minImprovement: number, confidence: number }
}

const figure = (n: number | null | undefined): string => n === null || n === undefined ? 'none' : Number(n.toPrecision(6)).toString()
// A stranger's description goes on one line of bounded length; the note is plain text.
const oneLine = (text: string): string => {
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim()
  return flat.length > 200 ? `${flat.slice(0, 199)}…` : flat
}

/**
 * The git note on a verified merge's commit: what `git log --notes` shows under it. The
 * commit is the worker's own (the best fast-forwards to it), so the verdict cannot be in
 * its message. Trailer-style lines, so `git notes show` output can be parsed.
 */
export function verdictNote (f: NoteFacts): string {
  const { merge, candidate } = f
  const verdict = candidate?.verdict ?? null
  const counted = verdict === null ? [] : verdict.trials.filter((t) => !verdict.disagreeing.includes(t.verifier))
  const verifiers = [...new Set(counted.map((t) => t.verifier))]
  const title = `autoresearch: verified merge ${merge.index}` + (candidate === undefined ? '' : ` of candidate #${candidate.seq}: ${oneLine(candidate.description)}`)
  const test = verdict?.test ?? null
  const lines = [
    `Merge: ${merge.index}`,
    ...(candidate === undefined ? [] : [`Candidate: #${candidate.seq}`]),
    ...(f.members.length === 0 ? [] : [`Group-members: ${f.members.map((m) => `#${m}`).join(', ')}`]),
    ...f.authors.map((a) => `Author-key: ${a}`),
    `Metric: ${f.metric.name} ${figure(merge.metric)} (baseline ${figure(merge.baseline_metric)}, ${f.metric.direction})`,
    `Verified-gain: ${figure(verdict?.meanImprovement)}`,
    `Min-improvement: ${figure(f.verification.minImprovement)} at ${figure(f.verification.confidence * 100)}% confidence`,
    `P-value: ${figure(test?.pValue)}`,
    `Trials: ${counted.length} in ${verdict?.rounds ?? 0} round(s)`,
    ...(verdict === null ? [] : [`Seeds: ${verdict.seeds.join(', ')}`]),
    ...verifiers.map((v) => `Verifier-key: ${v}`),
    `Merged-at: ${new Date(merge.merged_at).toISOString()}`,
    ...(merge.reverted_at === null ? [] : [`Reverted-at: ${new Date(merge.reverted_at).toISOString()}`])
  ]
  return `${title}\n\n${lines.join('\n')}\n`
}
