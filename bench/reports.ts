import { mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  commitWithChanges, experimentDiff, Identity, MAX_REPORTS_PER_BATCH, newNonce, packForSubmission, PROTOCOL, readFileAt, ReportReply,
  request, sha256Hex, type ExperimentReport, type ReportBatchBody
} from '@autoresearch/protocol'
import { REPORT_RATE } from 'autoresearch-coordinator'
import { freshCoordinator, type FreshCoordinator } from './lib/fresh-coordinator.ts'

/** Identities reporting; each sends its whole burst allowance (REPORT_RATE.burst), so the default limits hold. */
const REPORTERS = 32
/** Report batches kept in flight (as many workers flushing at once). */
const REPORTS_IN_FLIGHT = 8
const SUBMISSIONS = 120
const SUBMISSIONS_IN_FLIGHT = 4
/** The goal, at which submissions are timed with reports arriving alongside. */
const PACED_PER_SEC = 1000
/** Submissions sent untimed before the first timed run. */
const WARM_UP = 30

type Net = FreshCoordinator
const coordinator = freshCoordinator

/** Signed batches as workers send them: each report one constant of train.py changed, with its diff and hash. */
async function batches (net: Net): Promise<Array<{ body: ReportBatchBody, signature: string }>> {
  const text = await readFileAt(net.gitdir, net.best, 'train.py') as string
  const out: Array<{ body: ReportBatchBody, signature: string }> = []
  for (let r = 0; r < REPORTERS; r++) {
    const identity = Identity.generate()
    for (let b = 0; b < REPORT_RATE.burst / MAX_REPORTS_PER_BATCH; b++) {
      const reports: ExperimentReport[] = Array.from({ length: MAX_REPORTS_PER_BATCH }, (_, i) => {
        const value = (r * 10_000 + b * 100 + i) / 1e6
        const { diff, diffHash } = experimentDiff({ 'train.py': text }, { 'train.py': text.replace('LEARNING_RATE = 0.01', `LEARNING_RATE = ${value}`) })
        return { best: net.best, commit: sha256Hex(`${r}/${b}/${i}`).slice(0, 40), status: i % 5 === 0 ? 'keep' : 'discard', metric: 0.5 + value, noise: 0.01, seed: 1, description: `LEARNING_RATE 0.01 -> ${value}`, diff, diffHash, time: Date.now() }
      })
      const body: ReportBatchBody = { type: 'experiment-reports', causeId: net.causeId, publicKey: identity.publicKey, hardware: { class: 'bench', cpus: 2, gpus: [] }, reports, nonce: newNonce(), time: Date.now() }
      out.push({ body, signature: identity.sign('experiment-reports', body) })
    }
  }
  return out
}

async function submissions (net: Net, extra = 0): Promise<Array<{ identity: Identity, commit: string, pack: Uint8Array }>> {
  const text = await readFileAt(net.gitdir, net.best, 'train.py') as string
  const identities = Array.from({ length: 10 }, () => Identity.generate())
  const out = []
  for (let i = 0; i < SUBMISSIONS + extra; i++) {
    const commit = await commitWithChanges(net.gitdir, net.best, { 'train.py': `${text}\n# bench ${i}\n` }, `bench ${i}`)
    out.push({ identity: identities[i % identities.length] as Identity, commit, pack: await packForSubmission(net.gitdir, commit, net.best) })
  }
  return out
}

/**
 * Sends the batches, REPORTS_IN_FLIGHT at a time, as fast as they are taken, or paced at
 * `perSec` reports until `until` says stop; returns reports accepted and seconds.
 */
async function sendReports (net: Net, signed: Array<{ body: ReportBatchBody, signature: string }>, pace: { perSec: number, until: () => boolean } | undefined = undefined): Promise<{ accepted: number, seconds: number }> {
  let next = 0
  let accepted = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: REPORTS_IN_FLIGHT }, async () => {
    for (let i = next++; i < signed.length && pace?.until() !== true; i = next++) {
      if (pace !== undefined) {
        const due = started + (i * MAX_REPORTS_PER_BATCH / pace.perSec) * 1000
        if (due > performance.now()) await new Promise((resolve) => setTimeout(resolve, due - performance.now()))
      }
      const { reply, framed } = await request(net.node, net.running.multiaddrs[0] as string, PROTOCOL.report, { type: 'report', ...signed[i] }, ReportReply)
      await framed.close()
      accepted += reply.accepted
    }
  }))
  return { accepted, seconds: (performance.now() - started) / 1000 }
}

async function sendSubmissions (net: Net, prepared: Awaited<ReturnType<typeof submissions>>): Promise<{ accepted: number, seconds: number }> {
  const started = performance.now()
  for (let i = 0; i < prepared.length; i += SUBMISSIONS_IN_FLIGHT) {
    await Promise.all(prepared.slice(i, i + SUBMISSIONS_IN_FLIGHT).map(async ({ identity, commit, pack }) => {
      await net.client.submit(identity, { causeId: net.causeId, parent: net.best, candidate: commit, claimedMetric: 0.05, logDigest: sha256Hex(''), description: 'bench' }, pack)
    }))
  }
  return { accepted: prepared.length, seconds: (performance.now() - started) / 1000 }
}

const dbBytes = (path: string): number => [path, `${path}-wal`].reduce((n, p) => { try { return n + statSync(p).size } catch { return n } }, 0)
const rate = (n: number, s: number): number => Number((n / s).toFixed(1))

/**
 * Experiment reports accepted per second at a coordinator (issue [collab], goal ≥ 1,000/s
 * batched on 2 cores), and whether submissions keep their rate meanwhile: submissions
 * alone, reports alone, submissions with reports arriving at 1,000/s, and with reports as fast
 * as they are taken; each on a fresh coordinator in this process (the peers share its 2
 * cores). Batches are signed before timing, as workers sign theirs.
 */
export async function run (): Promise<Record<string, unknown>> {
  const scratch = mkdtempSync(join(tmpdir(), 'ar-bench-reports-'))

  const alone = await coordinator(scratch, 'submissions-alone')
  const alonePrepared = await submissions(alone, WARM_UP)
  // Untimed first: the runs after it find the pack and signature code compiled.
  await sendSubmissions(alone, alonePrepared.slice(0, WARM_UP))
  const subsAlone = await sendSubmissions(alone, alonePrepared.slice(WARM_UP))
  process.stderr.write(`submissions alone: ${rate(subsAlone.accepted, subsAlone.seconds)}/s\n`)

  const reportsNet = await coordinator(scratch, 'reports-alone')
  const signed = await batches(reportsNet)
  const before = dbBytes(reportsNet.database)
  const wireBytes = signed.reduce((n, s) => n + JSON.stringify({ type: 'report', ...s }).length, 0)
  const reportsAlone = await sendReports(reportsNet, signed)
  const stored = reportsNet.running.coordinator.store.experimentCount()
  const dbGrowth = dbBytes(reportsNet.database) - before
  process.stderr.write(`reports alone: ${rate(reportsAlone.accepted, reportsAlone.seconds)}/s (${stored} stored)\n`)

  // Submissions while reports arrive at the goal's rate, then while they arrive as fast as they are taken.
  const paced = await coordinator(scratch, 'paced')
  const pacedSigned = await batches(paced)
  const pacedSubs = await submissions(paced)
  let submitting = true
  const [subsPaced, reportsPaced] = await Promise.all([
    sendSubmissions(paced, pacedSubs).finally(() => { submitting = false }),
    sendReports(paced, pacedSigned, { perSec: PACED_PER_SEC, until: () => !submitting })
  ])
  process.stderr.write(`reports at ${PACED_PER_SEC}/s: submissions ${rate(subsPaced.accepted, subsPaced.seconds)}/s, reports ${rate(reportsPaced.accepted, reportsPaced.seconds)}/s\n`)

  const both = await coordinator(scratch, 'flooded')
  const bothSigned = await batches(both)
  const bothSubs = await submissions(both)
  const [subsWith, reportsWith] = await Promise.all([sendSubmissions(both, bothSubs), sendReports(both, bothSigned)])
  process.stderr.write(`flooded: submissions ${rate(subsWith.accepted, subsWith.seconds)}/s, reports ${rate(reportsWith.accepted, reportsWith.seconds)}/s\n`)

  for (const net of [alone, reportsNet, paced, both]) {
    await net.node.stop()
    await net.running.stop()
  }
  const reports = signed.length * MAX_REPORTS_PER_BATCH
  return {
    reporters: REPORTERS, batchSize: MAX_REPORTS_PER_BATCH, reportsInFlight: REPORTS_IN_FLIGHT, reports, limits: REPORT_RATE,
    reportsAlone: { accepted: reportsAlone.accepted, seconds: Number(reportsAlone.seconds.toFixed(2)), perSec: rate(reportsAlone.accepted, reportsAlone.seconds) },
    wireBytesPerReport: Math.round(wireBytes / reports),
    storedBytesPerReport: Math.round(dbGrowth / stored),
    submissionsAlone: { accepted: subsAlone.accepted, perSec: rate(subsAlone.accepted, subsAlone.seconds) },
    atGoal: {
      reportsPerSec: rate(reportsPaced.accepted, reportsPaced.seconds),
      submissionsPerSec: rate(subsPaced.accepted, subsPaced.seconds),
      submissionsOverAlone: Number(((subsPaced.accepted / subsPaced.seconds) / (subsAlone.accepted / subsAlone.seconds)).toFixed(2))
    },
    flooded: {
      reportsPerSec: rate(reportsWith.accepted, reportsWith.seconds),
      submissionsPerSec: rate(subsWith.accepted, subsWith.seconds),
      submissionsOverAlone: Number(((subsWith.accepted / subsWith.seconds) / (subsAlone.accepted / subsAlone.seconds)).toFixed(2))
    }
  }
}
