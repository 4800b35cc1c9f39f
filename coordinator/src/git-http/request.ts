import { z } from 'zod'
import { BadGitRequest, ReadOnlyRepository, UnknownGitService } from './errors.ts'

/** The one service served: what `git clone` and `git fetch` ask for. */
export const UPLOAD_PACK = 'git-upload-pack'

/** The refs a clone sees: the best (as HEAD and as the branch `best`) and the verdict notes. */
export const SERVED_REFS = ['refs/heads/best', 'refs/notes/commits'] as const

export interface GitHttpLimits {
  /** Bytes of one upload-pack request, after gzip is undone (a fetch's negotiation: a few KiB per hundred commits). */
  maxRequestBytes: number
  /** Seconds one upload-pack may run (packing and sending). */
  timeoutSeconds: number
  /**
   * Seconds without a byte moved: of the request body arriving, of upload-pack's answer
   * reaching the client (git sends a keep-alive every 5 s while it packs), so a client that
   * stops reading or drips its body lets go of its slot long before `timeoutSeconds`.
   */
  idleSeconds: number
  /** Upload-packs running at once, over all clients. */
  maxConcurrent: number
  /** Of those, at most this many for one client (its address: a clone needs one at a time). */
  maxPerClient: number
}

/** 4 MiB requests, 120 s per upload-pack, 20 s idle, 4 at once, 2 of them per client. */
export const GIT_HTTP_DEFAULTS: GitHttpLimits = { maxRequestBytes: 4 * 1024 * 1024, timeoutSeconds: 120, idleSeconds: 20, maxConcurrent: 4, maxPerClient: 2 }

/** `?service=` of `GET info/refs`: upload-pack, or a refusal that says why. */
export function serviceOf (service: string | undefined): typeof UPLOAD_PACK {
  if (service === UPLOAD_PACK) return service
  if (service === 'git-receive-pack') throw new ReadOnlyRepository()
  throw new UnknownGitService(service ?? '(none: the dumb protocol)')
}

// `version=2`, or several `key=value` entries separated by colons, as git sends them.
const GitProtocolHeader = z.string().max(256).regex(/^[A-Za-z0-9._-]+(=[A-Za-z0-9._-]*)?(:[A-Za-z0-9._-]+(=[A-Za-z0-9._-]*)?)*$/)

/**
 * The `Git-Protocol` header, passed to upload-pack as GIT_PROTOCOL (how a client asks
 * for protocol v2). A header git would not send is dropped, so the child's environment
 * holds nothing a stranger chose beyond these characters.
 */
export function gitProtocolOf (header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  const parsed = GitProtocolHeader.safeParse(header.trim())
  return parsed.success ? parsed.data : undefined
}

/** Whether a request body is gzip (git compresses large negotiations); another encoding is refused. */
export function isGzip (contentEncoding: string | undefined): boolean {
  const encoding = (contentEncoding ?? '').trim().toLowerCase()
  if (encoding === '' || encoding === 'identity') return false
  if (encoding === 'gzip' || encoding === 'x-gzip') return true
  throw new BadGitRequest(`unsupported Content-Encoding ${JSON.stringify(encoding.slice(0, 40))}; send gzip or none`)
}

/** A POST must carry upload-pack's request type, as git sends it. */
export function checkRequestType (contentType: string | undefined): void {
  if ((contentType ?? '').split(';')[0]?.trim().toLowerCase() !== `application/x-${UPLOAD_PACK}-request`) {
    throw new BadGitRequest(`a ${UPLOAD_PACK} request has Content-Type application/x-${UPLOAD_PACK}-request`)
  }
}

/** One pkt-line: four hex digits of length (themselves included), then the data. */
export function pktLine (data: string): Buffer {
  const bytes = Buffer.from(data, 'utf8')
  return Buffer.concat([Buffer.from((bytes.length + 4).toString(16).padStart(4, '0'), 'ascii'), bytes])
}

/**
 * What precedes the ref advertisement in smart HTTP (v0/v1): `# service=…` and a flush.
 * Protocol v2's capability advertisement has none, as git-http-backend does.
 */
export function advertisementPrefix (gitProtocol: string | undefined): Buffer {
  if (gitProtocol?.split(':').includes('version=2') === true) return Buffer.alloc(0)
  return Buffer.concat([pktLine(`# service=${UPLOAD_PACK}\n`), Buffer.from('0000', 'ascii')])
}
