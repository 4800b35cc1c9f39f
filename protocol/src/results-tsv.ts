/**
 * autoresearch's results.tsv, the one format every export of runs uses (a worker's own log,
 * the site's merged history and its shared experiments): tab-separated, this header, a
 * crash written with an empty metric (autoresearch writes 0.000000, which plots as the best result
 * of a minimised metric), memory in GB with one decimal (0.0 when unknown).
 */
export const RESULTS_TSV_HEADER = 'commit\tmetric\tmemory_gb\tstatus\tdescription'

export interface ResultsTsvRow {
  commit: string
  /** null: no metric (a crash), written as an empty cell. */
  metric: number | null
  memoryGb: number | null
  status: string
  description: string
}

/** One free-text cell: no tab or line break, at most 300 characters. */
export const tsvText = (s: string): string => s.replace(/[\t\r\n]+/g, ' ').trim().slice(0, 300)

/** One line (without its line end) in results.tsv's columns; the commit is cut to 7 digits as autoresearch writes it. */
export function resultsTsvLine (row: ResultsTsvRow): string {
  const metric = row.status === 'crash' || row.metric === null ? '' : row.metric.toFixed(6)
  return `${row.commit.slice(0, 7)}\t${metric}\t${(row.memoryGb ?? 0).toFixed(1)}\t${tsvText(row.status)}\t${tsvText(row.description)}`
}
