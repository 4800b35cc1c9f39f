import { setImmediate as nextTurn } from 'node:timers/promises'
import { RESULTS_TSV_HEADER, resultsTsvLine, tsvText } from '@autoresearch/protocol'
import { CANDIDATE_STATES } from '../store/index.ts'
import type { CandidateSummary, ContributorView, MergeView } from './queries/index.ts'

/**
 * Spreadsheet-safe text: a cell a stranger wrote that starts with = + - @ (or a
 * tab or carriage return) would run as a formula in Excel or LibreOffice, so it
 * gets a leading apostrophe. Numbers this code writes itself are left as numbers
 * (a negative gain stays -0.01).
 */
export const defuse = (s: string): string => /^\s*[=+\-@]|^[\t\r]/.test(s) ? `'${s}` : s

type Cell = string | number | boolean | null

const csvCell = (v: Cell): string => {
  if (v === null) return ''
  if (typeof v !== 'string') return String(v)
  const s = defuse(v)
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s
}

const csvLine = (cells: Cell[]): string => cells.map(csvCell).join(',') + '\r\n'

/** RFC 4180: comma-separated, CRLF line ends, fields with quotes, commas or line breaks quoted. */
export const toCsv = (header: string[], rows: Cell[][]): string => [header, ...rows].map(csvLine).join('')

const iso = (ms: number | null): string | null => ms === null ? null : new Date(ms).toISOString()

export function contributorsCsv (rows: ContributorView[]): string {
  // The state columns come last, so that readers of the earlier columns keep working.
  return toCsv(['rank', 'public_key', 'name', 'team', 'verified_gain', 'merges', 'verification_runs', 'submitted', 'accepted', 'rejected', 'contradicted', 'banned', ...CANDIDATE_STATES.map((st) => `state_${st}`)],
    rows.map((c) => [c.rank, c.publicKey, c.name, c.team, c.verifiedGain, c.merges, c.verificationRuns, c.submitted, c.accepted, c.rejected, c.contradicted, c.banned, ...CANDIDATE_STATES.map((st) => c.states[st])]))
}

const CANDIDATES_HEADER = csvLine(['seq', 'commit', 'parent', 'submitter', 'submitter_name', 'team', 'origin_seq', 'state', 'claimed_metric', 'verified_metric', 'baseline_metric', 'mean_improvement', 'claim_contradicted', 'received_at', 'verified_at', 'description', 'reason'])

/** Each candidate's record as rendered once: a summary is replaced, never changed, when its candidate changes (CandidateSummaries). */
const renderedLines = new WeakMap<CandidateSummary, string>()

function candidateLine (c: CandidateSummary): string {
  let line = renderedLines.get(c)
  if (line === undefined) {
    line = csvLine([c.seq, c.commit, c.parent, c.submitter, c.submitterName, c.team, c.originSeq, c.state, c.claimedMetric, c.verifiedMetric, c.baselineMetric, c.meanImprovement, c.claimContradicted, iso(c.receivedAt), iso(c.verifiedAt), c.description, c.reason])
    renderedLines.set(c, line)
  }
  return line
}

/** Records a slice of the candidates export holds: about 250 kB, a few ms to render the first time. */
export const CSV_SLICE = 1000

/**
 * candidates.csv, one record per candidate in the list's order, as a stream of slices of
 * CSV_SLICE records with the event loop free between them: a cause's whole history (25 MB at
 * 100,000 candidates) written in one go held the coordinator's one thread, leases and
 * attestations included, for half a second a request (docs/benchmarks.md, "The site's first
 * look and the candidates export"). `rows` is a list the site never changes, so a download
 * that spans changes is the list as it was when it began.
 */
export function candidatesCsvStream (rows: readonly CandidateSummary[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  let next = 0
  return new ReadableStream({
    async pull (controller) {
      if (next > 0) await nextTurn()
      const end = Math.min(rows.length, next + CSV_SLICE)
      const text = (next === 0 ? CANDIDATES_HEADER : '') + rows.slice(next, end).map(candidateLine).join('')
      next = end
      controller.enqueue(encoder.encode(text))
      if (next >= rows.length) controller.close()
    }
  }, { highWaterMark: 0 })
}

/**
 * autoresearch's results.tsv for the merged history: the first measured baseline,
 * then every standing merge (status keep). memory_gb is not reported by verifiers
 * yet, so it is 0.0 as autoresearch writes for an unknown value.
 */
export function resultsTsv (merges: MergeView[], baselineMetric: number | null): string {
  const lines = [RESULTS_TSV_HEADER]
  const initial = merges.find((m) => m.kind === 'initial')
  if (initial !== undefined && baselineMetric !== null) lines.push(resultsTsvLine({ commit: initial.commit, metric: baselineMetric, memoryGb: null, status: 'keep', description: 'baseline' }))
  for (const m of merges) {
    if (m.kind !== 'merge' || m.revertedAt !== null || m.metric === null) continue
    lines.push(resultsTsvLine({ commit: m.commit, metric: m.metric, memoryGb: null, status: 'keep', description: defuse(tsvText(m.description ?? '')) }))
  }
  return lines.join('\n') + '\n'
}
