import * as fs from 'node:fs/promises'
import { logger } from '@libp2p/logger'
import { TrialError } from './errors.ts'

const log = logger('autoresearch:runner:result')

const MAX_RESULT_BYTES = 1024 * 1024

/** Reads the result evaluate wrote: a regular file (never a link), small, a JSON object. */
export async function readResult (path: string): Promise<Record<string, unknown>> {
  let text: string
  try {
    // O_NOFOLLOW: the result must be a file evaluate wrote, not a link to one elsewhere.
    const handle = await fs.open(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW)
    try {
      const stat = await handle.stat()
      if (!stat.isFile()) throw new TrialError('no-result', 'the result is not a regular file')
      if (stat.size > MAX_RESULT_BYTES) throw new TrialError('no-result', `result file is ${stat.size} bytes, over the limit of ${MAX_RESULT_BYTES}`)
      text = await handle.readFile('utf8')
    } finally {
      await handle.close()
    }
  } catch (err) {
    if (err instanceof TrialError) throw err
    log('no result at %s: %e', path, err)
    throw new TrialError('no-result', 'evaluate wrote no result file')
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    log('the result at %s is not JSON: %e', path, err)
    throw new TrialError('no-result', 'the result file is not JSON')
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new TrialError('no-result', 'the result file is not a JSON object')
  return json as Record<string, unknown>
}

/** Reads the metric from train's output, for causes without an evaluate step: the last matching line wins. */
export function metricFromOutput (pattern: string, output: string): Record<string, unknown> {
  let re: RegExp
  try {
    re = new RegExp(pattern)
  } catch (err) {
    log('metric.stdoutPattern %s: %e', pattern, err)
    throw new TrialError('invalid-cause', `metric.stdoutPattern is not a valid regular expression: ${pattern}`)
  }
  const lines = output.split('\n')
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = re.exec(lines[i] as string)
    if (m?.[1] !== undefined) return { metric: Number(m[1]), source: 'stdout' }
  }
  throw new TrialError('no-result', `no line of train's output matches ${pattern}`)
}
