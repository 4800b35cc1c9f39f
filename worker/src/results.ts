import * as fs from 'node:fs'

export type ResultStatus = 'keep' | 'discard' | 'crash'

/** One row of autoresearch's results.tsv. */
export interface ResultRow {
  commit: string
  metric: number
  memoryGb: number
  status: ResultStatus
  description: string
}

const HEADER = 'commit\tmetric\tmemory_gb\tstatus\tdescription\n'

const clean = (s: string): string => s.replace(/[\t\r\n]+/g, ' ').slice(0, 300)

/**
 * Append-only results.tsv in autoresearch's columns (commit, metric, memory_gb,
 * status, description; crashes logged with metric 0). Each row is one appendFileSync
 * call, so a crash loses at most the row being written, never earlier ones.
 */
export class ResultsLog {
  readonly path: string

  constructor (path: string) {
    this.path = path
    if (!fs.existsSync(path)) fs.writeFileSync(path, HEADER)
  }

  append (row: ResultRow): void {
    const metric = row.status === 'crash' ? '0.000000' : row.metric.toFixed(6)
    fs.appendFileSync(this.path, `${row.commit.slice(0, 7)}\t${metric}\t${row.memoryGb.toFixed(1)}\t${row.status}\t${clean(row.description)}\n`)
  }

  read (): ResultRow[] {
    const lines = fs.readFileSync(this.path, 'utf8').split('\n').slice(1).filter((l) => l.trim() !== '')
    return lines.flatMap((line) => {
      const [commit, metric, memoryGb, status, description] = line.split('\t')
      if (commit === undefined || status === undefined) return []
      return [{ commit, metric: Number(metric), memoryGb: Number(memoryGb), status: status as ResultStatus, description: description ?? '' }]
    })
  }
}
