import type { VerifierEvent } from './verifier.ts'

/** A verifier event as one line for a terminal (undefined: not worth a line); the worker's `--also-verify` prints the same. */
export function describeVerifierEvent (e: VerifierEvent): string | undefined {
  switch (e.type) {
    case 'idle': return undefined
    case 'job': return `job ${e.job.jobId}: candidate ${e.job.candidate.slice(0, 10)} against best ${e.job.baseline.slice(0, 10)}, seeds ${e.job.seeds.join(',')}`
    case 'trial': return `job ${e.jobId} seed ${e.seed} ${e.side}: ${e.result.ok ? e.result.metric.toPrecision(6) : `failed (${e.result.reason})`}${e.cached ? ' (cached)' : ''}`
    case 'warmed': return `warmed baseline of best ${e.best.slice(0, 10)} seed ${e.seed}: ${e.result.ok ? e.result.metric.toPrecision(6) : `failed (${e.result.reason})`}`
    case 'refused': return `job ${e.jobId} refused: ${e.reason}`
    case 'stopped': return `job ${e.jobId} ${e.verdict === 'accepted' ? 'accepted' : 'stopped'} after ${e.pairs} of ${e.planned} pairs: ${e.reason}`
    case 'attested': return `job ${e.jobId} attested: ${e.verdict.state}: ${e.verdict.reason}`
  }
}
