/**
 * `npm run bench -- history [--sizes 0,10000,100000] [--cycles 300] [--open 100] [--speculation]`
 *
 * What one candidate costs the coordinator as its cause's history grows. For each size, a
 * fresh store (a real SQLite file) is filled with that many decided candidates, each with the
 * job and the attestation that decided it (copies of a real candidate's rows), from 1,000
 * submitters; then `--open` candidates are queued and `--cycles` candidates go through the
 * coordinator's real code one after another: intake's quota check and receipt
 * (`SimCoordinator.submit`), the lease handler's carry turn and lease (`lease`: CarryPlanner,
 * leaseOutcome) and the attest handler's decision (`attest`), each timed. A coordinator whose
 * reads scan its history slows as a cause runs; the ratios against the smallest size say how
 * much (docs/benchmarks.md, "History"). `--speculation` declares it (window 4) in the cause, as
 * a lease turn then also looks for rejections on a base that died.
 *
 * Then the public site, which the coordinator serves from the same thread: its first look after
 * a start (taken in slices where the code has `SiteQueries.warm`, as serve.ts does), the pages
 * after each of five changes, and the whole candidates.csv through the real API, each with the
 * longest the event loop waited meanwhile (what a lease request would have waited).
 */
import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Hono } from 'hono'
import { Identity, UsageError, type Job } from '@autoresearch/protocol'
import { Store, type CandidateRow } from '../coordinator/src/store/index.ts'
import { createApi } from '../coordinator/src/site/api.ts'
import { registerPages } from '../coordinator/src/site/routes.ts'
import { SiteQueries } from '../coordinator/src/site/queries/index.ts'
import { causeStatus } from '../coordinator/src/status.ts'
import { SimCoordinator, simManifest, type Carried } from './lib/sim/coordinator.ts'
import { listFlag, numberFlag } from './lib/flags.ts'

export class HistoryUsageError extends UsageError { override name = 'HistoryUsageError' }

/** The bench's options (`npm run bench -- history --help` lists them). */
export const options = {
  sizes: { type: 'string', default: '0,10000,100000' }, cycles: { type: 'string', default: '300' }, open: { type: 'string', default: '100' }, speculation: { type: 'boolean', default: false }
} as const

const DAY = 24 * 3600 * 1000
/** The most candidates `--cycles` and `--open` take: every loop here stops. */
const MAX_COUNT = 100_000
/** Submissions per fresh identity in the timed cycles: each rejection and contradicted claim lowers a key's quota (policy.ts), which is not what is measured. */
const PER_IDENTITY = 3
const NOWHERE: Carried = { rebased: () => {}, grouped: () => {}, promoted: () => {} }
const oid = (): string => randomBytes(20).toString('hex')

interface Row extends SiteFigures { history: number, msPerSubmit: number, msPerLease: number, msPerAttest: number, msPerCandidate: number, fillSeconds: number }

/** The site's figures, in ms; `…Stall` the longest the event loop waited meanwhile. */
interface SiteFigures {
  /** The first look's slices (0 where the code has none), all together and the longest wait. */
  msWarm: number, msWarmStall: number
  /** The first look after a start (after the slices where there are some), and its wait. */
  msFirstSiteLook: number, msFirstSiteLookStall: number
  msPerSiteRefresh: number
  /** The same after an experiment report (a write that changes no candidate). */
  msPerSiteRefreshReport: number
  /** /api/status with nothing changed, the mean of STATUS_LOOKS. */
  msStatus: number
  /** The front page (`/`, HTML with the chart's SVG) after a change, and its size. */
  msFrontPage: number, msFrontPageStall: number, frontPageBytes: number
  /** The whole candidates.csv through the API: the first time, again with its ETag (a 304), and after a change. */
  msCsv: number, msCsvStall: number, msCsvUnchanged: number, msCsvUnchangedStall: number, msCsvAfterChange: number, msCsvAfterChangeStall: number
}

/** Changes after which the site's pages are read again, timed. */
const SITE_REFRESHES = 5
const STATUS_LOOKS = 20

export async function run (args: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({ args, options })
  const sizes = listFlag('sizes', values.sizes, { min: 0, max: 1_000_000, whole: true }, HistoryUsageError)
  const cycles = numberFlag('cycles', values.cycles, { min: 1, max: MAX_COUNT, whole: true }, HistoryUsageError)
  const open = numberFlag('open', values.open, { min: 0, max: MAX_COUNT, whole: true }, HistoryUsageError)
  const rows: Row[] = []
  for (const size of sizes) rows.push(await race(size, cycles, open, values.speculation))
  const first = rows[0] as Row
  const ratio = (a: number, b: number): number => Number((a / b).toFixed(2))
  return {
    cycles,
    open,
    speculation: values.speculation,
    rows,
    ratios: rows.map((r) => ({ history: r.history, perCandidateVsFirst: ratio(r.msPerCandidate, first.msPerCandidate), leaseVsFirst: ratio(r.msPerLease, first.msPerLease), submitVsFirst: ratio(r.msPerSubmit, first.msPerSubmit), attestVsFirst: ratio(r.msPerAttest, first.msPerAttest), siteVsFirst: ratio(r.msPerSiteRefresh, first.msPerSiteRefresh), csvVsFirst: ratio(r.msCsv, first.msCsv) }))
  }
}

async function race (size: number, cycles: number, open: number, speculation: boolean): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'autoresearch-history-'))
  const store = new Store(join(dir, 'coordinator.db'))
  try {
    const verifier = Identity.generate()
    const coordinator = new SimCoordinator(store, { manifest: simManifest(3, { noise: 0.01, sequential: true, splitRounds: false, ...(speculation ? { speculation: 4 } : {}) }), verifiers: [verifier], conflict: 0, random: Math.random, runSeconds: 300, groups: true, wakeHeld: () => {} })
    const started = performance.now()
    fill(coordinator, verifier, size)
    const fillSeconds = (performance.now() - started) / 1000
    console.error(`history ${size}: filled in ${fillSeconds.toFixed(1)} s`)
    const submitters = Array.from({ length: Math.ceil((cycles + open) / PER_IDENTITY) }, () => Identity.generate())
    const submitter = (i: number): Identity => submitters[Math.floor(i / PER_IDENTITY)] as Identity
    for (let i = 0; i < open; i++) coordinator.submit(submitter(cycles + i), coordinator.best(), 0.5)
    let submitMs = 0
    let leaseMs = 0
    let attestMs = 0
    for (let i = 0; i < cycles; i++) {
      let t = performance.now()
      coordinator.submit(submitter(i), coordinator.best(), 0.1)
      submitMs += performance.now() - t
      t = performance.now()
      const { job } = coordinator.lease(verifier, NOWHERE)
      leaseMs += performance.now() - t
      if (job === null) throw new Error(`history ${size}: no job for candidate ${i}`)
      t = performance.now()
      coordinator.attest(verifier, job, losing(job), NOWHERE)
      attestMs += performance.now() - t
    }
    const site = await siteLooks(coordinator, dir)
    const per = (ms: number): number => Number((ms / cycles).toFixed(3))
    const row = { history: size, msPerSubmit: per(submitMs), msPerLease: per(leaseMs), msPerAttest: per(attestMs), msPerCandidate: per(submitMs + leaseMs + attestMs), ...site, fillSeconds: Number(fillSeconds.toFixed(1)) }
    console.error(`history ${size}: ${row.msPerCandidate} ms a candidate (submit ${row.msPerSubmit}, lease ${row.msPerLease}, attest ${row.msPerAttest}); site: first look ${site.msFirstSiteLook} ms after slices of ${site.msWarm} ms (longest wait ${Math.max(site.msWarmStall, site.msFirstSiteLookStall)} ms), pages after a change ${site.msPerSiteRefresh} ms (after a report ${site.msPerSiteRefreshReport} ms), /api/status ${site.msStatus} ms, the front page ${site.msFrontPage} ms (${site.frontPageBytes} bytes), candidates.csv ${site.msCsv} ms (longest wait ${site.msCsvStall} ms), unchanged ${site.msCsvUnchanged} ms, after a change ${site.msCsvAfterChange} ms (${site.msCsvAfterChangeStall} ms)`)
    return row
  } finally {
    store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * What the public site costs as a coordinator serves it: its first look after a start, then the
 * overview, queue and contributors views the first visitor after each of SITE_REFRESHES changes
 * (a submission each) reads (each view is kept until the database changes, site/queries/cache.ts),
 * the same after each of SITE_REFRESHES experiment reports, /api/status, the front page as a
 * browser gets it (the chart's SVG included), then candidates.csv whole through the real API:
 * first, revalidated by its ETag, and after a change. Each with the longest the event loop
 * waited meanwhile (the longest gap between ticks of a 1-ms timer).
 */
async function siteLooks (coordinator: SimCoordinator, dir: string): Promise<SiteFigures> {
  const store = coordinator.store
  const events = new EventEmitter()
  const deps = {
    manifest: coordinator.manifest, causeId: 'history', store, paths: { gitdir: join(dir, 'git') },
    status: () => causeStatus({ causeId: 'history', manifest: coordinator.manifest, node: undefined, store }),
    on: events.on.bind(events), off: events.off.bind(events)
  }
  const site = new SiteQueries(deps)
  const { api } = createApi(deps as unknown as Parameters<typeof createApi>[0], site, { sse: { maxStreams: 1, maxStreamsPerClient: 1, pingMs: 60_000, maxAgeMs: 60_000 }, clientKey: () => 'bench' })
  const app = new Hono()
  app.route('/api', api)
  registerPages(app, deps, site)
  const look = (): void => {
    site.overview('npx autoresearch-worker')
    site.queue()
    site.contributors()
  }
  const r1 = (x: number): number => Number(x.toFixed(1))
  const timed = async (fn: () => unknown): Promise<[number, number]> => {
    // The longest gap between ticks of a 1-ms timer (perf_hooks' delay monitor missed a block with no turn in it).
    let longest = 0
    let last = performance.now()
    const ticker = setInterval(() => { const now = performance.now(); longest = Math.max(longest, now - last); last = now }, 1)
    await new Promise((resolve) => setTimeout(resolve, 5))
    longest = 0
    last = performance.now()
    const t = performance.now()
    await fn()
    const ms = performance.now() - t
    // One more tick, so that a wait at the very end is counted too.
    await new Promise((resolve) => setTimeout(resolve, 5))
    clearInterval(ticker)
    return [r1(ms), r1(Math.min(ms, longest))]
  }
  const warm = (site as Partial<Pick<SiteQueries, 'warm'>>).warm?.bind(site)
  const [msWarm, msWarmStall] = warm === undefined ? [0, 0] : await timed(warm)
  const [msFirstSiteLook, msFirstSiteLookStall] = await timed(look)
  let refresh = 0
  for (let i = 0; i < SITE_REFRESHES; i++) {
    coordinator.submit(Identity.generate(), coordinator.best(), 0.1)
    refresh += (await timed(look))[0]
  }
  // An experiment report changes no candidate, but the database all the same (most writes at scale are reports).
  let afterReport = 0
  for (let i = 0; i < SITE_REFRESHES; i++) {
    const now = Date.now()
    store.insertReports({ worker: randomBytes(32).toString('hex'), hardware: null, nonce: randomBytes(16).toString('hex'), receivedAt: now, reports: [{ best: coordinator.best(), commit: oid(), status: 'discard', metric: 1, noise: null, seed: i + 1, description: 'a report', diff: '', diffHash: randomBytes(32).toString('hex'), time: now }] })
    afterReport += (await timed(look))[0]
  }
  // The front page as a browser gets it, after a change: the chart's SVG has a point per candidate it plots.
  coordinator.submit(Identity.generate(), coordinator.best(), 0.1)
  let frontPageBytes = 0
  const [msFrontPage, msFrontPageStall] = await timed(async () => {
    const res = await app.request('/')
    if (res.status !== 200) throw new Error(`the front page answered ${res.status}`)
    frontPageBytes = (await res.arrayBuffer()).byteLength
  })
  let etag = ''
  const csv = async (status = 200): Promise<void> => {
    const res = await api.request('/candidates.csv', { headers: status === 304 ? { 'If-None-Match': etag } : {} })
    if (res.status !== status) throw new Error(`candidates.csv answered ${res.status}, not ${status}`)
    etag = res.headers.get('etag') ?? ''
    // Chunk by chunk, as a socket takes it: gathering 25 MB into one buffer is a wait of the reader's own.
    for await (const _ of res.body ?? []) continue
  }
  // /api/status, which watchers poll and which is never memoised as a whole (peers change without a write).
  let status = 0
  for (let i = 0; i < STATUS_LOOKS; i++) status += (await timed(async () => { if ((await api.request('/status')).status !== 200) throw new Error('/status failed') }))[0]
  const [msCsv, msCsvStall] = await timed(csv)
  const [msCsvUnchanged, msCsvUnchangedStall] = await timed(async () => await csv(304))
  coordinator.submit(Identity.generate(), coordinator.best(), 0.1)
  const [msCsvAfterChange, msCsvAfterChangeStall] = await timed(csv)
  return { msWarm, msWarmStall, msFirstSiteLook, msFirstSiteLookStall, msPerSiteRefresh: r1(refresh / SITE_REFRESHES), msPerSiteRefreshReport: r1(afterReport / SITE_REFRESHES), msStatus: Number((status / STATUS_LOOKS).toFixed(2)), msFrontPage, msFrontPageStall, frontPageBytes, msCsv, msCsvStall, msCsvUnchanged, msCsvUnchangedStall, msCsvAfterChange, msCsvAfterChangeStall }
}

/** Trials of a clear loser: the candidate worse than the best on every seed, so the job rejects it. */
function losing (job: Job): Array<{ seed: number, baseline: number, candidate: number }> {
  return job.seeds.map((seed) => ({ seed, baseline: 1, candidate: 1.5 }))
}

/**
 * `size` decided candidates two days old and more, as a long-running cause has them: one real
 * candidate goes through submit, lease and attest, and its rows are copied with fresh ids
 * from 1,000 submitters, in one transaction.
 */
function fill (coordinator: SimCoordinator, verifier: Identity, size: number): void {
  if (size === 0) return
  const store = coordinator.store
  const seq = coordinator.submit(Identity.generate(), coordinator.best(), 0.1)
  const { job } = coordinator.lease(verifier, NOWHERE)
  if (job === null) throw new Error('no job for the template candidate')
  coordinator.attest(verifier, job, losing(job), NOWHERE)
  const template = store.candidate(seq) as CandidateRow
  const [jobRow] = store.jobsFor(seq)
  const [attestation] = store.attestationsFor(seq)
  if (jobRow === undefined || attestation === undefined) throw new Error('the template candidate has no job or attestation')
  const keys = Array.from({ length: 1000 }, () => randomBytes(32).toString('hex'))
  const old = Date.now() - 2 * DAY
  // Each rejected against a best, as a cause's history is (on one best here: which one does not change what is read).
  const parent = coordinator.best()
  store.transaction(() => {
    for (let i = 0; i < size; i++) {
      const next = store.nextSeq()
      const at = old - (size - i) * 1000
      const { verdict: _v, reason: _r, rounds: _n, ...row } = template
      store.insertCandidate({ ...row, seq: next, commit_oid: oid(), tree_oid: oid(), parent_oid: parent, submitter: keys[i % keys.length] as string, received_at: at, state: 'rejected' }, null)
      // With the verdict that rejected it, as a real history has: the chart plots every verified metric.
      if (template.verdict !== null) store.setCandidateState(next, 'rejected', template.reason, template.verdict)
      const { id: _id, ...rest } = jobRow
      const jobId = store.insertJob({ ...rest, candidate_seq: next, leased_at: at, lease_expires_at: at + 60_000, state: 'done' })
      store.recordAttestation({ jobId, candidateSeq: next, verifier: attestation.verifier, body: attestation.body, signature: 'history', at: at + 30_000 })
    }
  })
}
