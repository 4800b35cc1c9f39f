import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createNode, FramedStream, handleRequests, request, type AutoresearchNode } from '../src/index.ts'

const Echo = z.object({ type: z.literal('echo'), text: z.string().max(100) }).strict()
const EchoReply = z.object({ ok: z.literal(true), text: z.string() }).strict()

describe('framing over real libp2p on loopback', () => {
  let server: AutoresearchNode
  let client: AutoresearchNode
  beforeAll(async () => {
    server = await createNode({ listen: ['/ip4/127.0.0.1/tcp/0'] })
    client = await createNode()
    await handleRequests(server, '/test/echo/1.0.0', Echo, async (req) => ({ ok: true, text: req.text.toUpperCase() }), { timeoutMs: 500, maxMessageBytes: 1024 })
  })
  afterAll(async () => { await client.stop(); await server.stop() })

  it('answers a valid request', async () => {
    const { reply } = await request(client, server.getMultiaddrs()[0]!, '/test/echo/1.0.0', { type: 'echo', text: 'hi' }, EchoReply)
    expect(reply.text).toBe('HI')
  })

  it('rejects a message that does not match its schema with a typed error', async () => {
    await expect(request(client, server.getMultiaddrs()[0]!, '/test/echo/1.0.0', { type: 'echo', text: 'x', extra: 1 }, EchoReply))
      .rejects.toMatchObject({ name: 'InvalidMessageError' })
  })

  it('rejects an oversized frame before reading it', async () => {
    await expect(request(client, server.getMultiaddrs()[0]!, '/test/echo/1.0.0', { type: 'echo', text: 'x'.repeat(5000) }, EchoReply))
      .rejects.toMatchObject({ name: 'MessageTooLargeError' })
  })

  it('times out a peer that never sends', async () => {
    const stream = await client.dialProtocol(server.getMultiaddrs()[0]!, '/test/echo/1.0.0')
    const framed = new FramedStream(stream, { timeoutMs: 5000 })
    // Send nothing: the server's 500 ms read timeout answers with a TimeoutError reply.
    const reply = JSON.parse(new TextDecoder().decode(await framed.readBytes(4096))) as { error: { name: string } }
    expect(reply.error.name).toBe('TimeoutError')
  })
})
