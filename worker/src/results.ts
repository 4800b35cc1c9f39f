import * as fs from 'node:fs'
import { RESULTS_TSV_HEADER, resultsTsvLine } from '@autoresearch/protocol'

export type ResultStatus = 'keep' | 'discard' | 'crash'

/** One row of autoresearch's results.tsv. */
export interface ResultRow {
  commit: string
  /** Null for a crash (an empty cell: a 0 would plot as the best result of a minimised metric). */
  metric: number | null
  memoryGb: number
  status: ResultStatus
  description: string
}

/**
 * Append-only results.tsv in autoresearch's columns (commit, metric, memory_gb,
 * status, description; a crash with an empty metric and its reason in the description). Each row is one appendFileSync
 * call, so a crash loses at most the row being written, never earlier ones.
 */
export class ResultsLog {
  readonly path: string

  constructor (path: string) {
    this.path = path
    if (!fs.existsSync(path)) fs.writeFileSync(path, `${RESULTS_TSV_HEADER}\n`)
  }

  append (row: ResultRow): void {
    fs.appendFileSync(this.path, `${resultsTsvLine(row)}\n`)
  }

  read (): ResultRow[] {
    const lines = fs.readFileSync(this.path, 'utf8').split('\n').slice(1).filter((l) => l.trim() !== '')
    return lines.flatMap((line) => {
      const [commit, metric, memoryGb, status, description] = line.split('\t')
      if (commit === undefined || status === undefined) return []
      return [{ commit, metric: metric === undefined || metric.trim() === '' ? null : Number(metric), memoryGb: Number(memoryGb), status: status as ResultStatus, description: description ?? '' }]
    })
  }
}
