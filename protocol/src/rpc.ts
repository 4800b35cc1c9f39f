import type { Stream } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { logger } from '@libp2p/logger'
import { fromWireError, InvalidMessageError, toWireError, WireError } from './errors.ts'
import { FramedStream, MAX_MESSAGE_BYTES } from './framing.ts'
import { ErrorReply } from './messages.ts'
import type { AutoresearchNode } from './node.ts'

const log = logger('autoresearch:protocol:rpc')

export interface RequestContext {
  framed: FramedStream
  /** The remote peer id, as libp2p authenticated it. */
  remotePeer: string
  /** The connection's remote multiaddr (what refusals are charged to, with the peer id). */
  remoteAddr: string
  signal: AbortSignal
}

export type Handler<Req> = (request: Req, ctx: RequestContext) => Promise<unknown>

export interface HandleOptions {
  /** Time allowed for each read on an inbound stream. */
  timeoutMs?: number
  maxMessageBytes?: number
}

/**
 * Registers a request/reply protocol: one validated JSON request (plus any frames
 * the handler reads itself), one JSON reply. A failure becomes a typed error reply
 * the sender can show to a person; it never crashes the node.
 */
export async function handleRequests<S extends z.ZodType> (
  node: AutoresearchNode, protocol: string, schema: S, handler: Handler<z.infer<S>>, opts: HandleOptions = {}
): Promise<void> {
  await node.handle(protocol, async (stream: Stream, connection) => {
    const controller = new AbortController()
    // A peer that goes away (its stream reset or closed, its connection gone) ends the work done
    // for it: a lease request held open for it then lets its place go at once.
    const gone = (): void => { controller.abort() }
    stream.addEventListener('close', gone, { once: true })
    const framed = new FramedStream(stream, { signal: controller.signal, timeoutMs: opts.timeoutMs })
    try {
      let reply: unknown
      try {
        const request = await framed.readJson(schema, opts.maxMessageBytes ?? MAX_MESSAGE_BYTES)
        reply = await handler(request, { framed, remotePeer: connection.remotePeer.toString(), remoteAddr: connection.remoteAddr.toString(), signal: controller.signal })
      } catch (err) {
        // The peer is told the name and message; an error that is not a WireError reaches it only as InternalError, so it is logged here.
        if (!(err instanceof WireError)) log.error('%s handler failed: %e', protocol, err)
        reply = { ok: false, error: toWireError(err) }
      }
      if (reply !== undefined) await framed.writeJson(reply)
      await framed.close()
    } catch (err) {
      log('%s: the stream failed before the reply was sent: %e', protocol, err)
      framed.abort(err as Error)
    } finally {
      stream.removeEventListener('close', gone)
      controller.abort()
    }
  }, { maxInboundStreams: 256, runOnLimitedConnection: false })
}

export interface RequestOptions {
  signal?: AbortSignal
  timeoutMs?: number
  /** A binary frame sent right after the request (a pack). */
  attachment?: Uint8Array
}

/** Dials `protocol`, sends one request and reads one validated reply; error replies throw typed errors. */
export async function request<S extends z.ZodType> (
  node: AutoresearchNode, target: Multiaddr | string, protocol: string, message: unknown, replySchema: S, opts: RequestOptions = {}
): Promise<{ reply: z.infer<S>, framed: FramedStream }> {
  const addr = typeof target === 'string' ? multiaddr(target) : target
  const stream = await node.dialProtocol(addr, protocol, { signal: opts.signal ?? AbortSignal.timeout(opts.timeoutMs ?? 30_000) })
  const framed = new FramedStream(stream, { signal: opts.signal, timeoutMs: opts.timeoutMs })
  await framed.writeJson(message)
  if (opts.attachment !== undefined) await framed.writeBytes(opts.attachment)
  const bytes = await framed.readBytes(MAX_MESSAGE_BYTES)
  const either = z.union([replySchema, ErrorReply])
  let parsed: z.infer<S> | z.infer<typeof ErrorReply>
  try {
    parsed = either.parse(JSON.parse(new TextDecoder().decode(bytes)))
  } catch (err) {
    framed.abort(err as Error)
    throw new InvalidMessageError(`the coordinator sent a reply this version cannot read: ${(err as Error).message.slice(0, 300)}`, { cause: err })
  }
  const errorReply = ErrorReply.safeParse(parsed)
  if (errorReply.success) {
    await framed.close()
    throw fromWireError(errorReply.data.error)
  }
  return { reply: parsed as z.infer<S>, framed }
}
