import { readFileSync } from 'node:fs'
import type { Context, Hono, MiddlewareHandler } from 'hono'
import { etag } from 'hono/etag'
import { logger } from '@libp2p/logger'
import { answerOf, NotFound } from './errors.ts'
import { h, type Html } from './html.ts'
import { layout } from './layout.ts'
import { candidatePage, initialCommitPage } from './pages/candidate.ts'
import { codePage, filePage } from './pages/code.ts'
import { hypothesesPage } from './pages/hypotheses.ts'
import { aboutPage, contributorsPage, notFoundPage, queuePage } from './pages/lists.ts'
import { overviewPage } from './pages/overview.ts'
import { joinInfo, oidParam, seqParam } from './params.ts'
import type { SiteDeps, SiteQueries } from './queries/index.ts'
import { ASSET, NO_STORE, pageHeaders, readOnly, send } from './respond.ts'

const log = logger('autoresearch:coordinator:site')
const asset = (name: string): string => readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8')
const HTML = 'text/html; charset=utf-8'

/**
 * The public site's pages and assets on `app` (which has the API mounted at /api
 * already), with its own notFound and onError: every answer here is a page. Each page is
 * rendered from the same object its `/api/…` twin returns.
 */
export function registerPages (app: Hono, deps: Pick<SiteDeps, 'manifest' | 'status'>, queries: SiteQueries, limit?: MiddlewareHandler): void {
  const css = asset('site.css')
  const js = asset('live.js')
  const icon = asset('favicon.svg')
  const manifest = deps.manifest

  const shell = (c: Context, title: string, body: Html): string => layout({ title, cause: manifest.name, path: c.req.path, body })
  const page = (c: Context, title: string, body: Html): Response => send(c, shell(c, title, body), HTML)
  const errorPage = (c: Context, err: Error): Response => {
    const a = answerOf(err)
    if (a.status >= 500) log.error('%s %s failed: %e', c.req.method, c.req.path, err)
    const body = err instanceof NotFound ? notFoundPage(a.message) : h`<h1>${a.title}</h1><p class="lead">${a.message}.</p>`
    return c.body(shell(c, a.title, body), a.status, { ...a.headers, 'Content-Type': HTML, 'Cache-Control': NO_STORE })
  }

  // Registered after app.route('/api', …): the API answers every /api path itself, so none of this runs for it.
  app.use(pageHeaders())
  if (limit !== undefined) app.use(limit)
  app.use(readOnly('this site'))
  app.use(etag())

  app.get('/assets/site.css', (c) => send(c, css, 'text/css; charset=utf-8', { cache: ASSET }))
  app.get('/assets/live.js', (c) => send(c, js, 'text/javascript; charset=utf-8', { cache: ASSET }))
  app.get('/assets/favicon.svg', (c) => send(c, icon, 'image/svg+xml', { cache: ASSET }))
  app.get('/favicon.ico', (c) => send(c, icon, 'image/svg+xml', { cache: ASSET }))

  app.get('/', (c) => page(c, 'Overview', overviewPage(queries.overview(joinInfo(deps).line), queries.hardware())))
  app.get('/queue', (c) => page(c, 'Queue', queuePage(queries.queue(), manifest)))
  app.get('/hypotheses', (c) => page(c, 'Hypotheses', hypothesesPage(queries.hypotheses(), manifest)))
  app.get('/contributors', (c) => page(c, 'Contributors', contributorsPage(queries.contributors(), queries.teams(), manifest)))
  app.get('/about', (c) => {
    const join = joinInfo(deps)
    return page(c, 'About', aboutPage({ cause: manifest.name, join: join.line, multiaddrs: join.multiaddrs, manifest }))
  })
  app.get('/candidates/:seq', async (c) => {
    const seq = seqParam(c.req.param('seq'))
    const detail = seq === undefined ? undefined : await queries.candidate(seq)
    if (detail === undefined) throw new NotFound(`There is no candidate #${c.req.param('seq')}.`)
    return page(c, `Candidate #${detail.seq}`, candidatePage(detail, manifest, queries.triedOn(detail)))
  })
  app.get('/commits/:oid', async (c) => {
    const oid = oidParam(c.req.param('oid'))
    const found = oid === undefined ? undefined : await queries.commit(oid)
    if (found === undefined || oid === undefined) throw new NotFound(`This coordinator has no commit ${c.req.param('oid')}.`)
    if (found.kind === 'initial') return page(c, `Commit ${oid.slice(0, 10)}`, initialCommitPage(oid, found.merge, found.metric, found.files, manifest, queries.tried(oid)))
    const detail = await queries.candidate(found.seq)
    if (detail === undefined) throw new NotFound(`This coordinator has no commit ${oid}.`)
    return page(c, `Candidate #${detail.seq}`, candidatePage(detail, manifest, queries.triedOn(detail)))
  })

  app.get('/files', async (c) => {
    const v = await queries.code(deps.status().best.commit)
    if (v === undefined) throw new NotFound('The best commit\'s files cannot be read yet.')
    return page(c, 'Files', codePage(v))
  })
  app.get('/files/:oid', async (c) => {
    const oid = oidParam(c.req.param('oid'))
    const v = oid === undefined ? undefined : await queries.code(oid)
    if (v === undefined) throw new NotFound(`${c.req.param('oid')} is not a commit that was the best here; files are shown for the initial commit and every merged best.`)
    return page(c, `Files at ${v.commit.slice(0, 10)}`, codePage(v))
  })
  app.get('/files/:oid/:path{.+}', async (c) => {
    const oid = oidParam(c.req.param('oid'))
    const path = c.req.param('path')
    const v = oid === undefined ? undefined : await queries.file(oid, path)
    if (v === undefined) throw new NotFound(`There is no file ${path} at ${c.req.param('oid')} (files are shown for the initial commit and every merged best).`)
    return page(c, v.path, filePage(v))
  })

  app.notFound((c) => errorPage(c, new NotFound(`There is no page at ${c.req.path}.`)))
  app.onError((err, c) => errorPage(c, err))
}
