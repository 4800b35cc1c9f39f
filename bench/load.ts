import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { UsageError } from '@autoresearch/protocol'
import { runLoad } from './lib/load.ts'
import { numberFlag } from './lib/flags.ts'

/** A flag of `npm run bench -- load` that is not a positive integer up to 10,000. */
export class LoadUsageError extends UsageError { override name = 'LoadUsageError' }

function positive (name: string, value: string | undefined, fallback: number): number {
  return numberFlag(name, value ?? String(fallback), { min: 1, max: 10_000, whole: true }, LoadUsageError)
}

const pct = (sorted: number[], p: number): number | null => sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number

/** The bench's options (`npm run bench -- load --help` lists them). */
export const options = { processes: { type: 'string' }, 'peers-per-process': { type: 'string' }, merges: { type: 'string' }, submissions: { type: 'string' } } as const

/**
 * Simulated volunteers as real libp2p peers in several processes around a coordinator
 * process: connections it holds, its memory per connection, announcement fan-out
 * latency, and intake with every peer connected against intake with none.
 */
export async function run (args: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({ args, options })
  const opts = {
    processes: positive('processes', values.processes, 4),
    peersPerProcess: positive('peers-per-process', values['peers-per-process'], 25),
    merges: positive('merges', values.merges, 10),
    submissions: positive('submissions', values.submissions, 100)
  }
  const scratch = mkdtempSync(join(tmpdir(), 'ar-bench-load-'))
  try {
    const r = await runLoad({ scratch, ...opts, log: (line) => { process.stderr.write(line + '\n') } })
    const expected = opts.processes * opts.peersPerProcess
    const delivered = new Set(r.deliveries.filter((d) => d.verified && d.commit !== undefined && r.merged.includes(d.commit)).map((d) => `${d.peer} ${d.commit}`))
    const latencies = r.deliveries.filter((d) => d.verified).map((d) => d.latencyMs as number).sort((a, b) => a - b)
    const loadedRate = r.loaded.accepted / r.loaded.seconds
    const idleRate = (r.idleBefore.accepted + r.idleAfter.accepted) / (r.idleBefore.seconds + r.idleAfter.seconds)
    const intake = (run: typeof r.loaded): Record<string, number> => ({
      submissions: run.accepted, seconds: Number(run.seconds.toFixed(2)), submissionsPerSec: Number((run.accepted / run.seconds).toFixed(1)), coordinatorCpuMsPerSubmission: Number((run.coordinatorCpuMs / run.accepted).toFixed(1))
    })
    const mib = (kib: number): number => Number((kib / 1024).toFixed(1))
    return {
      ...opts,
      connectionsExpected: expected,
      connectionsHeld: r.connectionsAtEnd,
      connectionsAtStart: r.connectionsAtStart,
      peersDisconnected: r.peersDisconnected.length,
      coordinatorRssBeforeMiB: mib(r.rssBeforeKiB),
      coordinatorRssAfterMiB: mib(r.rssAfterKiB),
      coordinatorIdleCpuPercentBefore: Number(r.idleCpuPercentBefore.toFixed(1)),
      coordinatorIdleCpuPercentAfter: Number(r.idleCpuPercentAfter.toFixed(1)),
      memoryPerConnectionKiB: r.connectionsAtStart > 0 ? Math.round((r.rssAfterKiB - r.rssBeforeKiB) / r.connectionsAtStart) : null,
      announcementsDelivered: delivered.size,
      announcementsExpected: expected * r.merged.length,
      fanOutMsP50: pct(latencies, 0.5),
      fanOutMsP99: pct(latencies, 0.99),
      fanOutMsMax: latencies.at(-1) ?? null,
      intakeIdleBefore: intake(r.idleBefore),
      intakeLoaded: intake(r.loaded),
      intakeIdleAfter: intake(r.idleAfter),
      intakeIdleSubmissionsPerSec: Number(idleRate.toFixed(1)),
      intakeLoadedToIdleRatio: Number((loadedRate / idleRate).toFixed(2))
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}
