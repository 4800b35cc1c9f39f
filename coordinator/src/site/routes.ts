import { readFileSync } from 'node:fs'
import type { Context, Hono } from 'hono'
import { improvement } from '@autoresearch/protocol'
import type { Coordinator } from '../coordinator.ts'
import type { CandidateState } from '../store.ts'
import { candidatesCsv, contributorsCsv, resultsTsv } from './csv.ts'
import { SiteData, type CandidateSummary } from './data.ts'
import type { Html } from './html.ts'
import { layout } from './layout.ts'
import { candidatePage, initialCommitPage } from './pages/candidate.ts'
import { aboutPage, contributorsPage, notFoundPage, queuePage } from './pages/lists.ts'
import { overviewPage, type OverviewView } from './pages/overview.ts'
import { ASSET, jsonError, send, sendJson } from './respond.ts'
import { EventStreams, type SseOptions } from './sse.ts'

const asset = (name: string): string => readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8')
const STATES: ReadonlySet<string> = new Set<CandidateState>(['queued', 'verifying', 'merged', 'rejected', 'stale', 'rebased', 'reverted'])
const seqParam = (s: string): number | undefined => /^[1-9][0-9]{0,14}$/.test(s) ? Number(s) : undefined
const oidParam = (s: string): string | undefined => /^[0-9a-f]{40}$/.test(s) ? s : undefined

/** The address a volunteer should dial: one with a peer id that is not loopback, if there is one. */
export function joinAddress (multiaddrs: string[]): string | undefined {
  const withPeer = multiaddrs.filter((a) => a.includes('/p2p/'))
  const outside = withPeer.filter((a) => !/^\/ip4\/127\.|^\/ip6\/::1\//.test(a))
  return outside[0] ?? withPeer[0] ?? multiaddrs[0]
}

/**
 * The public site and its JSON/CSV/TSV API. Every page's data comes from SiteData,
 * and each page is rendered from the same object its `/api/…` twin returns.
 */
export function registerSite (app: Hono, coordinator: Coordinator, sse: SseOptions, clientKey: (c: Context) => string): EventStreams {
  const data = new SiteData(coordinator)
  const streams = new EventStreams(coordinator, sse)
  const css = asset('site.css')
  const js = asset('live.js')
  const icon = asset('favicon.svg')
  const manifest = coordinator.manifest

  const join = (): { line: string, multiaddrs: string[] } => {
    const multiaddrs = coordinator.status().multiaddrs
    return { line: `npx autoresearch-worker --coordinator ${joinAddress(multiaddrs) ?? '<multiaddr>'}`, multiaddrs }
  }
  const page = (c: Context, title: string, body: Html, status = 200): Response =>
    send(c, layout({ title, cause: manifest.name, path: c.req.path, body }), 'text/html; charset=utf-8', { status })
  const notFound = (c: Context, what: string): Response => c.req.path.startsWith('/api/')
    ? jsonError(c, 404, 'NotFound', what)
    : page(c, 'Not found', notFoundPage(what), 404)

  const overview = (): OverviewView => data.cached('overview', () => {
    const status = coordinator.status()
    const merges = data.merges()
    const bestMetric = status.best.metric
    return {
      status,
      description: manifest.description ?? null,
      selfReported: manifest.evaluate === undefined,
      totalGain: status.baselineMetric !== null && bestMetric !== null ? improvement(manifest, status.baselineMetric, bestMetric) : null,
      recentMerges: merges.filter((m) => m.kind === 'merge').reverse().slice(0, 10),
      chart: data.chart(),
      network: data.network(),
      join: join().line
    }
  })
  const about = () => ({ cause: manifest.name, causeId: coordinator.causeId, join: join().line, multiaddrs: join().multiaddrs, verification: manifest.verification, editable: manifest.editable, metric: manifest.metric })

  app.get('/assets/site.css', (c) => send(c, css, 'text/css; charset=utf-8', { cache: ASSET }))
  app.get('/assets/live.js', (c) => send(c, js, 'text/javascript; charset=utf-8', { cache: ASSET }))
  app.get('/assets/favicon.svg', (c) => send(c, icon, 'image/svg+xml', { cache: ASSET }))
  app.get('/favicon.ico', (c) => send(c, icon, 'image/svg+xml', { cache: ASSET }))

  // Pages.
  app.get('/', (c) => page(c, 'Overview', overviewPage(overview())))
  app.get('/queue', (c) => page(c, 'Queue', queuePage(data.queue(), manifest)))
  app.get('/contributors', (c) => page(c, 'Contributors', contributorsPage(data.contributors(), data.teams(), manifest)))
  app.get('/about', (c) => page(c, 'About', aboutPage({ cause: manifest.name, join: join().line, multiaddrs: join().multiaddrs, manifest })))
  app.get('/candidates/:seq', async (c) => {
    const seq = seqParam(c.req.param('seq'))
    const detail = seq === undefined ? undefined : await data.candidate(seq)
    if (detail === undefined) return notFound(c, `There is no candidate #${c.req.param('seq')}.`)
    return page(c, `Candidate #${detail.seq}`, candidatePage(detail, manifest))
  })
  app.get('/commits/:oid', async (c) => {
    const oid = oidParam(c.req.param('oid'))
    const found = oid === undefined ? undefined : await data.commit(oid)
    if (found === undefined || oid === undefined) return notFound(c, `This coordinator has no commit ${c.req.param('oid')}.`)
    if (found.kind === 'initial') return page(c, `Commit ${oid.slice(0, 10)}`, initialCommitPage(oid, found.merge, found.metric, found.files, manifest))
    const detail = await data.candidate(found.seq)
    if (detail === undefined) return notFound(c, `This coordinator has no commit ${oid}.`)
    return page(c, `Candidate #${detail.seq}`, candidatePage(detail, manifest))
  })

  // JSON.
  app.get('/api/overview', (c) => {
    const v = overview()
    return sendJson(c, { ...v.status, description: v.description, selfReported: v.selfReported, totalGain: v.totalGain, recentMerges: v.recentMerges, chart: v.chart, network: v.network, join: v.join })
  })
  app.get('/api/merges', (c) => sendJson(c, { merges: data.merges() }))
  app.get('/api/candidates', (c) => {
    const state = c.req.query('state')
    if (state !== undefined && !STATES.has(state)) return jsonError(c, 400, 'BadRequest', `state must be one of ${[...STATES].join(', ')}`)
    const limit = Math.min(1000, Math.max(1, Number(c.req.query('limit') ?? 1000) || 1000))
    const before = seqParam(c.req.query('before') ?? '')
    let rows: CandidateSummary[] = [...data.candidates()].reverse()
    if (state !== undefined) rows = rows.filter((r) => r.state === state)
    if (before !== undefined) rows = rows.filter((r) => r.seq < before)
    const pageRows = rows.slice(0, limit)
    const last = pageRows[pageRows.length - 1]
    const next = rows.length > limit && last !== undefined ? `/api/candidates?${new URLSearchParams({ ...(state === undefined ? {} : { state }), before: String(last.seq), limit: String(limit) }).toString()}` : null
    return sendJson(c, { candidates: pageRows, next })
  })
  app.get('/api/candidates/:seq', async (c) => {
    const seq = seqParam(c.req.param('seq'))
    const detail = seq === undefined ? undefined : await data.candidate(seq)
    return detail === undefined ? notFound(c, `there is no candidate #${c.req.param('seq')}`) : sendJson(c, detail)
  })
  app.get('/api/commits/:oid', async (c) => {
    const oid = oidParam(c.req.param('oid'))
    const found = oid === undefined ? undefined : await data.commit(oid)
    if (found === undefined) return notFound(c, `this coordinator has no commit ${c.req.param('oid')}`)
    if (found.kind === 'initial') return sendJson(c, { kind: 'initial', commit: oid, publishedAt: found.merge.mergedAt, metric: found.metric, files: found.files })
    return sendJson(c, { kind: 'candidate', ...(await data.candidate(found.seq)) })
  })
  app.get('/api/contributors', (c) => sendJson(c, { contributors: data.contributors(), teams: data.teams() }))
  app.get('/api/queue', (c) => sendJson(c, data.queue()))
  app.get('/api/network', (c) => sendJson(c, data.network()))
  app.get('/api/about', (c) => sendJson(c, about()))

  // Exports.
  const download = (c: Context, body: string, type: string, name: string): Response =>
    send(c, body, type, { headers: { 'Content-Disposition': `attachment; filename="${name}"` } })
  app.get('/api/contributors.csv', (c) => download(c, contributorsCsv(data.contributors()), 'text/csv; charset=utf-8; header=present', `${manifest.name}-contributors.csv`))
  app.get('/api/candidates.csv', (c) => download(c, candidatesCsv(data.candidates()), 'text/csv; charset=utf-8; header=present', `${manifest.name}-candidates.csv`))
  app.get('/api/results.tsv', (c) => download(c, resultsTsv(data.merges(), coordinator.status().baselineMetric), 'text/tab-separated-values; charset=utf-8', 'results.tsv'))

  // Live updates.
  app.get('/api/events', (c) => {
    const headers = { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-store', 'X-Accel-Buffering': 'no' }
    if (c.req.method === 'HEAD') return c.body(null, 200, headers)
    const body = streams.open(clientKey(c))
    if (body === 'client-full') {
      c.header('Retry-After', '30')
      return jsonError(c, 429, 'TooManyStreamsFromClient', `your address already holds ${sse.maxStreamsPerClient} live connections; close a tab, the pages work without them`)
    }
    if (body === 'full') {
      c.header('Retry-After', '30')
      return jsonError(c, 503, 'TooManyStreams', 'too many live connections; the pages work without them')
    }
    return c.body(body, 200, headers)
  })

  app.notFound((c) => notFound(c, c.req.path.startsWith('/api/') ? `no route for ${c.req.path}` : `There is no page at ${c.req.path}.`))
  return streams
}
