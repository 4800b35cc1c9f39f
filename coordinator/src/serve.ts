import type { AddressInfo } from 'node:net'
import { logger } from '@libp2p/logger'
import { serve as serveHttp, type ServerType } from '@hono/node-server'
import type { NodeOptions } from '@autoresearch/protocol'
import { Coordinator } from './coordinator.ts'
import { closeEventStreams, createHttpApp, warmSite, type HttpOptions } from './http.ts'

const log = logger('autoresearch:coordinator:serve')

export interface ServeOptions {
  home: string
  listen?: string[]
  httpPort?: number
  httpHost?: string
  /** libp2p inbound limits (default: protocol's CONNECTION_LIMITS). */
  connections?: NodeOptions['connections']
  /** The HTTP surface's rate limit and live-stream caps. */
  http?: HttpOptions
  /** Write a digest of findings this often when experiments came in (0 or absent: never). */
  reportEveryMs?: number
}

export interface RunningCoordinator {
  coordinator: Coordinator
  multiaddrs: string[]
  httpUrl: string
  stop: () => Promise<void>
}

/** Opens a home and serves it on libp2p and HTTP. */
export async function serveCoordinator (opts: ServeOptions): Promise<RunningCoordinator> {
  const coordinator = await Coordinator.open(opts.home)
  const app = createHttpApp(coordinator, opts.http)
  const host = opts.httpHost ?? '127.0.0.1'
  let server: ServerType
  try {
    await coordinator.start({ listen: opts.listen, connections: opts.connections })
    server = await new Promise<ServerType>((resolve, reject) => {
      const s = serveHttp({ fetch: app.fetch, port: opts.httpPort ?? 8080, hostname: host }, () => resolve(s))
      s.once('error', reject)
    })
  } catch (err) {
    // A port in use must not leave the home locked by this (still running) process.
    await coordinator.stop()
    throw err
  }
  const port = (server.address() as AddressInfo).port
  if (opts.reportEveryMs !== undefined && opts.reportEveryMs > 0) coordinator.reportEvery(opts.reportEveryMs)
  // A page before it is done reads the rest at once, as it would without it: nothing waits on it.
  const warming = new AbortController()
  const warmed = warmSite(app, { signal: warming.signal }).catch((err: Error) => {
    if (!warming.signal.aborted) log.error('the site\'s first look in slices failed: %e', err)
  })
  return {
    coordinator,
    multiaddrs: coordinator.node?.getMultiaddrs().map(String) ?? [],
    httpUrl: `http://${host}:${port}`,
    stop: async () => {
      // Before the store closes under a slice of it.
      warming.abort()
      await warmed
      // Live event streams never end by themselves; the server's close would wait on them.
      closeEventStreams(app)
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await coordinator.stop()
    }
  }
}
