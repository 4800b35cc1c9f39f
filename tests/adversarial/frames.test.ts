/**
 * Frames and messages no honest client sends, written byte by byte on real libp2p streams:
 * oversized and overlong length prefixes, bytes that are not JSON, JSON that does not match
 * its schema, truncated frames, and peers that go silent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Identity, PROTOCOL, READ_TIMEOUT_MS } from '@autoresearch/protocol'
import { expectRefused, snapshot, startArena, type Arena } from './arena.ts'
import { submissionBody, submitCommit, trainEdit } from './messages.ts'
import { rawPack } from './git-objects.ts'
import { frame, rawStream, throwIfError, varint } from './raw-frames.ts'

describe('hostile frames and messages', () => {
  let arena: Arena
  beforeAll(async () => { arena = await startArena() })
  afterAll(async () => { await arena.stop() })

  /** Writes `bytes` on a fresh stream of `protocol`, optionally ends our side, and throws the typed error replied. */
  async function exchange (protocol: string, bytes: Uint8Array, opts: { closeWrite?: boolean } = {}): Promise<unknown> {
    const s = await rawStream(arena.node, arena.net.address, protocol)
    try {
      await s.send(bytes)
      if (opts.closeWrite === true) await s.closeWrite()
      return throwIfError(await s.reply())
    } finally {
      s.abort()
    }
  }

  /** A correctly signed submit request for a fresh candidate, and its pack. */
  async function submitRequest (): Promise<{ request: Record<string, unknown>, pack: Uint8Array }> {
    const commit = await trainEdit(arena, 'frames')
    const pack = await rawPack(arena.gitdir, commit, arena.best)
    const body = submissionBody(arena, arena.attacker, commit, pack)
    return { request: { type: 'submit', body, signature: arena.attacker.sign('submission', body) }, pack }
  }

  it('answers a length prefix over 1 MiB with MessageTooLargeError, without waiting for the body', async () => {
    const started = Date.now()
    const err = await expectRefused(arena, async () => exchange(PROTOCOL.info, varint(2 * 1024 * 1024)), 'MessageTooLargeError')
    expect(err.message).toContain('2097152')
    expect(Date.now() - started).toBeLessThan(READ_TIMEOUT_MS / 2)
  })

  it('answers a length prefix over 1 MiB on the submit request the same way', async () => {
    await expectRefused(arena, async () => exchange(PROTOCOL.submit, Buffer.concat([varint(64 * 1024 * 1024), Buffer.alloc(1000, 0x20)])), 'MessageTooLargeError')
  })

  it('answers a varint length prefix longer than 5 bytes with MessageTooLargeError', async () => {
    await expectRefused(arena, async () => exchange(PROTOCOL.info, Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])), 'MessageTooLargeError')
  })

  it('refuses a frame that is not JSON', async () => {
    await expectRefused(arena, async () => exchange(PROTOCOL.info, frame('GET / HTTP/1.1\r\nHost: x\r\n\r\n')), 'InvalidMessageError')
  })

  it('refuses a frame that is not UTF-8', async () => {
    await expectRefused(arena, async () => exchange(PROTOCOL.info, frame(Uint8Array.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]))), 'InvalidMessageError')
  })

  it('refuses an empty frame', async () => {
    await expectRefused(arena, async () => exchange(PROTOCOL.info, frame('')), 'InvalidMessageError')
  })

  it('refuses JSON with an extra field', async () => {
    const err = await expectRefused(arena, async () => exchange(PROTOCOL.info, frame(JSON.stringify({ type: 'info', admin: true }))), 'InvalidMessageError')
    expect(err.message).toMatch(/schema/)
  })

  it('refuses a "__proto__" key (prototype pollution attempt) as an unknown field', async () => {
    await expectRefused(arena, async () => exchange(PROTOCOL.info, frame('{"type":"info","__proto__":{"polluted":true}}')), 'InvalidMessageError')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('refuses a correctly signed submission body that carries an extra field', async () => {
    const { request, pack } = await submitRequest()
    const body = { ...(request.body as Record<string, unknown>), reputation: 1000 }
    const signed = { type: 'submit', body, signature: arena.attacker.sign('submission', body) }
    await expectRefused(arena, async () => exchange(PROTOCOL.submit, Buffer.concat([frame(JSON.stringify(signed)), frame(pack)])), 'InvalidMessageError')
  })

  it('refuses a message of the wrong type for its protocol (info on submit)', async () => {
    await expectRefused(arena, async () => exchange(PROTOCOL.submit, frame(JSON.stringify({ type: 'info' }))), 'InvalidMessageError')
  })

  it('refuses a non-finite claimed metric (1e999 parses as Infinity)', async () => {
    const { request, pack } = await submitRequest()
    const text = JSON.stringify(request).replace(/"claimedMetric":[^,}]+/, '"claimedMetric":1e999')
    expect(text).toContain('1e999')
    await expectRefused(arena, async () => exchange(PROTOCOL.submit, Buffer.concat([frame(text), frame(pack)])), 'InvalidMessageError')
  })

  it('refuses a fetch request with more than 256 "have" commits', async () => {
    const have = Array.from({ length: 257 }, () => arena.best)
    await expectRefused(arena, async () => exchange(PROTOCOL.fetch, frame(JSON.stringify({ type: 'fetch', want: arena.best, have }))), 'InvalidMessageError')
  })

  it('refuses a deeply nested JSON value within the size limit', async () => {
    const depth = 200_000
    await expectRefused(arena, async () => exchange(PROTOCOL.info, frame('['.repeat(depth) + ']'.repeat(depth))), 'InvalidMessageError')
  })

  it('refuses a candidate status request for sequence number 0', async () => {
    await expectRefused(arena, async () => exchange(PROTOCOL.candidate, frame(JSON.stringify({ type: 'candidate', seq: 0 }))), 'InvalidMessageError')
  })

  it('answers a truncated frame followed by the end of the stream with InvalidMessageError', async () => {
    const err = await expectRefused(arena, async () => exchange(PROTOCOL.info, Buffer.concat([varint(100), Buffer.from('{"type":"in')]), { closeWrite: true }), 'InvalidMessageError')
    expect(err.message).toContain('closed before a complete frame')
  })

  it('stores nothing when a signed submission\'s stream ends before its pack frame', async () => {
    const { request } = await submitRequest()
    await expectRefused(arena, async () => exchange(PROTOCOL.submit, frame(JSON.stringify(request)), { closeWrite: true }), 'InvalidMessageError')
  })

  it('stores nothing when the pack frame is cut short', async () => {
    const { request, pack } = await submitRequest()
    const cut = Buffer.concat([frame(JSON.stringify(request)), varint(pack.byteLength), pack.subarray(0, pack.byteLength >> 1)])
    await expectRefused(arena, async () => exchange(PROTOCOL.submit, cut, { closeWrite: true }), 'InvalidMessageError')
  })

  it(`times out silent peers after ${READ_TIMEOUT_MS / 1000} s and serves everyone else meanwhile`, async () => {
    // One peer opens a stream and sends nothing; another sends a signed submission and then never its pack.
    const silent = await rawStream(arena.node, arena.net.address, PROTOCOL.info)
    const stalled = await rawStream(arena.node, arena.net.address, PROTOCOL.submit)
    const { request } = await submitRequest()
    await stalled.send(frame(JSON.stringify(request)))
    const opened = Date.now()
    try {
      // Meanwhile an honest submitter is served at once: a stalled pack read does not hold intake.
      const honest = Identity.generate()
      const { receipt } = await submitCommit(arena, await trainEdit(arena, 'served while others stall'), { identity: honest })
      expect(receipt.submitter).toBe(honest.publicKey)
      expect(Date.now() - opened).toBeLessThan(10_000)
      const before = await snapshot(arena.running)
      const replies = await Promise.all([silent.reply(READ_TIMEOUT_MS + 15_000), stalled.reply(READ_TIMEOUT_MS + 15_000)])
      for (const reply of replies) expect(reply.error?.name).toBe('TimeoutError')
      expect(Date.now() - opened).toBeGreaterThanOrEqual(READ_TIMEOUT_MS - 2_000)
      expect(await snapshot(arena.running)).toEqual(before)
    } finally {
      silent.abort()
      stalled.abort()
    }
  }, 90_000)
})
