import type { Stream } from '@libp2p/interface'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { z } from 'zod'
import { logger } from '@libp2p/logger'
import { InvalidMessageError, MessageTooLargeError, StreamCloseError, TimeoutError } from './errors.ts'

const log = logger('autoresearch:protocol:framing')

/** Largest JSON message accepted on any protocol. */
export const MAX_MESSAGE_BYTES = 1024 * 1024
/** Largest binary frame (a pack) accepted; causes may set a lower limit. */
export const MAX_PACK_FRAME_BYTES = 256 * 1024 * 1024
/** Default time allowed for one read. */
export const READ_TIMEOUT_MS = 30_000

export interface FramedOptions {
  signal?: AbortSignal
  timeoutMs?: number
}

/**
 * Length-prefixed frames over a libp2p stream. Each read has its own size cap
 * (checked on the length prefix, before the body is buffered) and its own timeout.
 */
export class FramedStream {
  readonly #lp: LengthPrefixedStream<Stream>
  readonly #stream: Stream
  readonly #signal?: AbortSignal
  readonly #timeoutMs: number
  #cap = MAX_MESSAGE_BYTES

  constructor (stream: Stream, opts: FramedOptions = {}) {
    this.#stream = stream
    this.#signal = opts.signal
    this.#timeoutMs = opts.timeoutMs ?? READ_TIMEOUT_MS
    this.#lp = lpStream(stream, {
      maxDataLength: MAX_PACK_FRAME_BYTES,
      lengthDecoder: (data) => {
        const length = decodeVarint(data)
        if (length > this.#cap) throw new MessageTooLargeError(`frame of ${length} bytes exceeds the limit of ${this.#cap}`)
        return length
      }
    })
  }

  async readBytes (maxBytes: number): Promise<Uint8Array> {
    this.#cap = maxBytes
    const timeout = AbortSignal.timeout(this.#timeoutMs)
    const signal = this.#signal === undefined ? timeout : AbortSignal.any([this.#signal, timeout])
    try {
      return (await this.#lp.read({ signal })).subarray()
    } catch (err) {
      if (timeout.aborted) throw new TimeoutError(`no complete frame within ${this.#timeoutMs} ms`)
      if (err instanceof MessageTooLargeError) throw err
      if ((err as Error).name === 'UnexpectedEOFError') throw new InvalidMessageError('the stream closed before a complete frame arrived')
      throw err
    }
  }

  async readJson<S extends z.ZodType> (schema: S, maxBytes = MAX_MESSAGE_BYTES): Promise<z.infer<S>> {
    return parseMessage(schema, await this.readBytes(maxBytes))
  }

  async writeBytes (bytes: Uint8Array): Promise<void> {
    await this.#lp.write(bytes, { signal: this.#signal })
  }

  async writeJson (value: unknown): Promise<void> {
    await this.writeBytes(new TextEncoder().encode(JSON.stringify(value)))
  }

  async close (): Promise<void> {
    try {
      await this.#stream.close({ signal: AbortSignal.timeout(5_000) })
    } catch (err) {
      log('closing the stream failed, aborting it: %e', err)
      this.#stream.abort(new StreamCloseError('close failed', { cause: err }))
    }
  }

  abort (err: Error): void {
    this.#stream.abort(err)
  }
}

/** Decodes a JSON frame and validates it; anything off becomes InvalidMessageError. */
export function parseMessage<S extends z.ZodType> (schema: S, bytes: Uint8Array): z.infer<S> {
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (err) {
    throw new InvalidMessageError('message is not UTF-8 JSON', { cause: err })
  }
  const result = schema.safeParse(json)
  if (!result.success) {
    const first = result.error.issues[0]
    throw new InvalidMessageError(`message does not match its schema: ${first === undefined ? 'invalid' : `${first.path.join('.') || '(root)'}: ${first.message}`}`)
  }
  return result.data
}

/** Unsigned LEB128 varint; throws RangeError while the prefix is still incomplete (lpStream reads on). */
function decodeVarint (data: { byteLength: number, get: (i: number) => number }): number {
  let value = 0
  for (let i = 0; i < data.byteLength; i++) {
    const byte = data.get(i)
    if (i >= 5) throw new MessageTooLargeError('length prefix too long')
    value += (byte & 0x7f) * 2 ** (7 * i)
    if ((byte & 0x80) === 0) return value
  }
  throw new RangeError('incomplete varint')
}
