import { promisify } from 'node:util'
import { gunzip } from 'node:zlib'
import { BadGitRequest, GitRequestTimedOut, GitRequestTooLarge } from './errors.ts'
import { isGzip, type GitHttpLimits } from './request.ts'

const unzip = promisify(gunzip)

/**
 * An upload-pack request body, at most `maxRequestBytes` before and after gzip (a gzip bomb
 * stops at the cap), read with no pause over `idleSeconds` and in `timeoutSeconds` in all,
 * so a body dripped a byte at a time is not waited for.
 */
export async function readRequest (req: Request, limits: Pick<GitHttpLimits, 'maxRequestBytes' | 'idleSeconds' | 'timeoutSeconds'>): Promise<Buffer> {
  const max = limits.maxRequestBytes
  const gzipped = isGzip(req.headers.get('content-encoding') ?? undefined)
  const declared = Number(req.headers.get('content-length') ?? NaN)
  if (declared > max) throw new GitRequestTooLarge(max)
  const chunks: Uint8Array[] = []
  if (req.body !== null) {
    const reader = req.body.getReader()
    const deadline = Date.now() + limits.timeoutSeconds * 1000
    let total = 0
    try {
      for (;;) {
        const { done, value } = await readWithin(reader, readLimit(deadline - Date.now(), limits))
        if (done) break
        total += value.byteLength
        if (total > max) throw new GitRequestTooLarge(max)
        chunks.push(value)
      }
    } catch (err) {
      reader.cancel().catch(() => {})
      throw err
    }
  }
  const raw = Buffer.concat(chunks)
  if (!gzipped) return raw
  try {
    return await unzip(raw, { maxOutputLength: max })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new GitRequestTooLarge(max)
    throw new BadGitRequest('the gzip request body is corrupt')
  }
}

/** How long the next read may take, and what is said when it takes longer: the idle limit, or what is left of the total. */
export function readLimit (leftMs: number, limits: Pick<GitHttpLimits, 'idleSeconds' | 'timeoutSeconds'>): { ms: number, why: string } {
  const idleMs = limits.idleSeconds * 1000
  if (leftMs < idleMs) return { ms: Math.max(0, leftMs), why: `the body took over ${limits.timeoutSeconds} s` }
  return { ms: idleMs, why: `no bytes came for ${limits.idleSeconds} s` }
}

async function readWithin (reader: ReadableStreamDefaultReader<Uint8Array>, { ms, why }: { ms: number, why: string }): ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new GitRequestTimedOut(why)) }, ms) })
  try {
    return await Promise.race([reader.read(), late])
  } finally {
    clearTimeout(timer)
  }
}
