import { EventEmitter } from 'node:events'
import { join } from 'node:path'
import type { Manifest } from '@autoresearch/protocol'
import { Hono } from 'hono'
import type { Coordinator } from '../src/coordinator.ts'
import { SSE_DEFAULTS } from '../src/http.ts'
import { createApi } from '../src/site/api.ts'
import { SiteQueries } from '../src/site/queries/index.ts'
import { registerPages } from '../src/site/routes.ts'
import { causeStatus } from '../src/status.ts'
import type { Store } from '../src/store/index.ts'

/**
 * The site (API at /api and the pages) over a store, with no coordinator running: what the
 * site's specs send `app.request()` to. The repository is `gitdir` when given, else a
 * missing one under `dir` (pages that show files say so).
 */
export function siteApp (store: Store, manifest: Manifest, dir: string, opts: { gitdir?: string } = {}): Hono {
  const events = new EventEmitter()
  const deps = {
    manifest, causeId: 'toy', paths: { gitdir: opts.gitdir ?? join(dir, 'missing.git') }, store,
    status: () => causeStatus({ causeId: 'toy', manifest, node: undefined, store }),
    // Nothing here emits; the API's event stream only needs somewhere to listen.
    on: events.on.bind(events) as unknown as Coordinator['on'], off: events.off.bind(events) as unknown as Coordinator['off']
  }
  const queries = new SiteQueries(deps)
  const { api } = createApi(deps, queries, { sse: SSE_DEFAULTS, clientKey: () => 'test' })
  const app = new Hono()
  app.route('/api', api)
  registerPages(app, deps, queries)
  return app
}
