/** Bytes on a protocol: frames written by hand, read back raw. */
import type { Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { FramedStream, fromWireError, MAX_MESSAGE_BYTES, type AutoresearchNode } from '@autoresearch/protocol'

export function varint (n: number): Uint8Array {
  const out: number[] = []
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    out.push(byte)
  } while (n > 0)
  return Uint8Array.from(out)
}

/** A length-prefixed frame around `body`. */
export function frame (body: Uint8Array | string): Uint8Array {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body
  return Buffer.concat([varint(bytes.byteLength), bytes])
}

export interface RawStream {
  stream: Stream
  /** Writes raw bytes, waiting for the stream to drain when its buffer is full. */
  send: (bytes: Uint8Array) => Promise<void>
  /** Closes our writing side (the coordinator sees the end of the stream). */
  closeWrite: () => Promise<void>
  /** Reads one framed reply and parses it as JSON. */
  reply: (timeoutMs?: number) => Promise<{ ok: boolean, error?: { name: string, message: string } } & Record<string, unknown>>
  abort: () => void
}

export async function rawStream (node: AutoresearchNode, address: string, protocol: string): Promise<RawStream> {
  const stream = await node.dialProtocol(multiaddr(address), protocol, { signal: AbortSignal.timeout(10_000) })
  let framed: FramedStream | undefined
  return {
    stream,
    send: async (bytes) => {
      if (!stream.send(bytes)) await stream.onDrain({ signal: AbortSignal.timeout(30_000) })
    },
    closeWrite: async () => { await stream.close({ signal: AbortSignal.timeout(5_000) }) },
    reply: async (timeoutMs = 10_000) => {
      framed ??= new FramedStream(stream, { timeoutMs })
      return JSON.parse(new TextDecoder().decode(await framed.readBytes(MAX_MESSAGE_BYTES)))
    },
    abort: () => { stream.abort(new Error('test done')) }
  }
}

/** Turns a raw `{ok:false, error}` reply into a thrown error with that name, as the client does. */
export function throwIfError (reply: { ok: boolean, error?: { name: string, message: string } }): unknown {
  if (reply.ok === false && reply.error !== undefined) {
    throw fromWireError(reply.error)
  }
  return reply
}
