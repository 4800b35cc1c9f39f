import type { AddressInfo } from 'node:net'
import { serve as serveHttp, type ServerType } from '@hono/node-server'
import { Coordinator } from './coordinator.ts'
import { closeEventStreams, createHttpApp } from './http.ts'

export interface ServeOptions {
  home: string
  listen?: string[]
  httpPort?: number
  httpHost?: string
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
  const app = createHttpApp(coordinator)
  const host = opts.httpHost ?? '127.0.0.1'
  let server: ServerType
  try {
    await coordinator.start({ listen: opts.listen })
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
  return {
    coordinator,
    multiaddrs: coordinator.node?.getMultiaddrs().map(String) ?? [],
    httpUrl: `http://${host}:${port}`,
    stop: async () => {
      // Live event streams never end by themselves; the server's close would wait on them.
      closeEventStreams(app)
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await coordinator.stop()
    }
  }
}
