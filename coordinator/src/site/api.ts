import { Hono, type Context, type MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'
import { etag } from 'hono/etag'
import { logger } from '@libp2p/logger'
import { CANDIDATE_STATES } from '../store/index.ts'
import { candidatesCsvStream, contributorsCsv, resultsTsv } from './csv.ts'
import { answerOf, BadRequest, NotFound } from './errors.ts'
import { joinInfo, oidParam, positionParam, seqParam } from './params.ts'
import { DEFAULT_EXPERIMENTS_PAGE, MAX_EXPERIMENTS_PAGE } from './queries/experiments.ts'
import { HYPOTHESIS_STATES } from './queries/hypotheses.ts'
import type { CandidateSummary, SiteDeps, SiteQueries } from './queries/index.ts'
import { apiHeaders, NO_STORE, readOnly, send, sendJson, SHORT } from './respond.ts'
import { EventStreams, SSE_HEADERS, type EventFeed, type SseOptions } from './sse.ts'

const log = logger('autoresearch:coordinator:site')

const STATES: ReadonlySet<string> = new Set(CANDIDATE_STATES)
const HYPOTHESIS_STATE_SET: ReadonlySet<string> = new Set(HYPOTHESIS_STATES)

/** The `best` a query filters on: absent, or a commit id (anything else is a 400). */
function bestQuery (c: Context): string | undefined {
  const best = c.req.query('best')
  if (best === undefined) return undefined
  const oid = oidParam(best)
  if (oid === undefined) throw new BadRequest('best must be a commit id (40 lowercase hex digits)')
  return oid
}

export interface ApiOptions {
  sse: SseOptions
  /** Who a request comes from, for the per-client cap on live streams. */
  clientKey: (c: Context) => string
  /** The rate limit, shared with the pages (one bucket per client for the whole site). */
  limit?: MiddlewareHandler
}

/**
 * The site's JSON, CSV and TSV, and its live event stream, mounted at /api (docs/api.md).
 * Every answer, errors included, is JSON or the export's own type, never a page.
 */
export function createApi (deps: SiteDeps & EventFeed, queries: SiteQueries, opts: ApiOptions): { api: Hono, streams: EventStreams } {
  const api = new Hono()
  const streams = new EventStreams(deps, opts.sse)
  const manifest = deps.manifest

  api.use(apiHeaders())
  // Before cors, which would answer a preflight OPTIONS with 204: this API allows no method that needs one.
  api.use(readOnly('this API'))
  // Public data: any site may read it (no cookies exist), a 429 included.
  api.use(cors())
  if (opts.limit !== undefined) api.use(opts.limit)

  // Before etag, which would read this endless body to hash it.
  api.get('/events', (c) => c.req.method === 'HEAD' ? c.body(null, 200, SSE_HEADERS) : streams.respond(c, opts.clientKey(c)))
  api.use(etag())

  api.get('/status', (c) => {
    c.header('Cache-Control', 'no-cache')
    return c.json(deps.status())
  })
  api.get('/overview', (c) => {
    const v = queries.overview(joinInfo(deps).line)
    return sendJson(c, { ...v.status, description: v.description, selfReported: v.selfReported, requiresGpu: v.requiresGpu, totalGain: v.totalGain, recentMerges: v.recentMerges, chart: v.chart, network: v.network, tried: v.tried, digest: v.digest, join: v.join })
  })
  api.get('/merges', (c) => sendJson(c, { merges: queries.merges() }))
  api.get('/hardware', (c) => sendJson(c, queries.hardware()))
  api.get('/candidates', (c) => {
    const state = c.req.query('state')
    if (state !== undefined && !STATES.has(state)) throw new BadRequest(`state must be one of ${[...STATES].join(', ')}`)
    const limit = Math.min(1000, Math.max(1, Number(c.req.query('limit') ?? 1000) || 1000))
    const before = seqParam(c.req.query('before') ?? '')
    // Newest first, walked back from the newest and stopped one past the page, not copied and filtered whole on each request.
    const all = queries.candidates()
    const page: CandidateSummary[] = []
    let more = false
    for (let i = all.length - 1; i >= 0; i--) {
      const r = all[i] as CandidateSummary
      if ((state !== undefined && r.state !== state) || (before !== undefined && r.seq >= before)) continue
      if (page.length === limit) { more = true; break }
      page.push(r)
    }
    const last = page[page.length - 1]
    const next = more && last !== undefined ? `/api/candidates?${new URLSearchParams({ ...(state === undefined ? {} : { state }), before: String(last.seq), limit: String(limit) }).toString()}` : null
    return sendJson(c, { candidates: page, next })
  })
  api.get('/candidates/:seq', async (c) => {
    const seq = seqParam(c.req.param('seq'))
    const detail = seq === undefined ? undefined : await queries.candidate(seq)
    if (detail === undefined) throw new NotFound(`there is no candidate #${c.req.param('seq')}`)
    return sendJson(c, { ...detail, tried: queries.triedOn(detail) })
  })
  api.get('/commits/:oid', async (c) => {
    const oid = oidParam(c.req.param('oid'))
    const found = oid === undefined ? undefined : await queries.commit(oid)
    if (found === undefined || oid === undefined) throw new NotFound(`this coordinator has no commit ${c.req.param('oid')}`)
    if (found.kind === 'initial') return sendJson(c, { kind: 'initial', commit: oid, publishedAt: found.merge.mergedAt, metric: found.metric, files: found.files, tried: queries.tried(oid) })
    const detail = await queries.candidate(found.seq)
    return sendJson(c, { kind: 'candidate', ...detail, tried: detail === undefined ? null : queries.triedOn(detail) })
  })
  api.get('/files', async (c) => {
    const v = await queries.code(deps.status().best.commit)
    if (v === undefined) throw new NotFound('the best commit\'s files cannot be read yet')
    return sendJson(c, v)
  })
  api.get('/files/:oid', async (c) => {
    const oid = oidParam(c.req.param('oid'))
    const v = oid === undefined ? undefined : await queries.code(oid)
    if (v === undefined) throw new NotFound(`${c.req.param('oid')} is not a commit that was the best here; files are shown for the initial commit and every merged best`)
    return sendJson(c, v)
  })
  api.get('/files/:oid/:path{.+}', async (c) => {
    const oid = oidParam(c.req.param('oid'))
    const path = c.req.param('path')
    const v = oid === undefined ? undefined : await queries.file(oid, path)
    if (v === undefined) throw new NotFound(`there is no file ${path} at ${c.req.param('oid')}`)
    return sendJson(c, v)
  })
  api.get('/experiments', (c) => {
    const best = bestQuery(c)
    const sinceText = c.req.query('since')
    const since = sinceText === undefined ? 0 : positionParam(sinceText)
    if (since === undefined) throw new BadRequest('since must be an experiment seq (an integer, 0 or more)')
    const asked = Math.floor(Number(c.req.query('limit') ?? DEFAULT_EXPERIMENTS_PAGE))
    const limit = Number.isFinite(asked) ? Math.min(MAX_EXPERIMENTS_PAGE, Math.max(1, asked)) : DEFAULT_EXPERIMENTS_PAGE
    const page = queries.experiments({ best, since, limit })
    const last = page.experiments[page.experiments.length - 1]
    const next = page.more && last !== undefined ? `/api/experiments?${new URLSearchParams({ ...(best === undefined ? {} : { best }), since: String(last.seq), limit: String(limit) }).toString()}` : null
    return sendJson(c, { experiments: page.experiments, next })
  })
  api.get('/hypotheses', (c) => {
    const state = c.req.query('state')
    if (state !== undefined && !HYPOTHESIS_STATE_SET.has(state)) throw new BadRequest(`state must be one of ${HYPOTHESIS_STATES.join(', ')}`)
    const all = queries.hypotheses()
    return sendJson(c, { hypotheses: state === undefined ? all : all.filter((x) => x.state === state) })
  })
  api.get('/digest', (c) => sendJson(c, { digest: queries.digest() }))
  api.get('/contributors', (c) => sendJson(c, { contributors: queries.contributors(), teams: queries.teams() }))
  api.get('/queue', (c) => sendJson(c, queries.queue()))
  api.get('/network', (c) => sendJson(c, queries.network()))
  api.get('/about', (c) => {
    const join = joinInfo(deps)
    return sendJson(c, { cause: manifest.name, causeId: deps.causeId, join: join.line, multiaddrs: join.multiaddrs, verification: manifest.verification, editable: manifest.editable, metric: manifest.metric, requires: manifest.requires })
  })

  // Exports.
  const attachment = (name: string): string => `attachment; filename="${name}"`
  const download = (c: Context, body: string, type: string, name: string): Response => send(c, body, type, { headers: { 'Content-Disposition': attachment(name) } })
  api.get('/contributors.csv', (c) => download(c, contributorsCsv(queries.contributors()), 'text/csv; charset=utf-8; header=present', `${manifest.name}-contributors.csv`))
  api.get('/candidates.csv', (c) => {
    // Its own ETag, so that hono/etag neither reads the whole stream to hash it nor misses a 304.
    const { list, tag } = queries.candidatesTagged()
    return c.body(candidatesCsvStream(list), 200, { 'Content-Type': 'text/csv; charset=utf-8; header=present', 'Cache-Control': SHORT, 'Content-Disposition': attachment(`${manifest.name}-candidates.csv`), ETag: `"${tag}"` })
  })
  api.get('/results.tsv', (c) => download(c, resultsTsv(queries.merges(), deps.status().baselineMetric), 'text/tab-separated-values; charset=utf-8', 'results.tsv'))
  api.get('/experiments.tsv', (c) => {
    const best = bestQuery(c)
    return download(c, queries.experimentsTsv(best), 'text/tab-separated-values; charset=utf-8', best === undefined ? 'experiments.tsv' : `experiments-${best.slice(0, 7)}.tsv`)
  })

  // Mounted with app.route(), a sub-app's notFound is never called: this catch-all is the API's.
  api.all('*', (c) => { throw new NotFound(`no route for ${c.req.path}`) })
  api.onError((err, c) => {
    const a = answerOf(err)
    if (a.status >= 500) log.error('%s %s failed: %e', c.req.method, c.req.path, err)
    return c.json({ error: { name: a.name, message: a.message } }, a.status, { ...a.headers, 'Cache-Control': NO_STORE })
  })
  return { api, streams }
}
