import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** One scripted reply: a chat answer (200), or an error status with optional headers, as hosted APIs send them. */
export type ScriptedReply = string | { status: number, headers?: Record<string, string>, body?: string }

export interface ScriptedLlm {
  url: string
  /** The request bodies received, in order (errors answered included). */
  requests: Array<{ messages: Array<{ role: string, content: string }>, [key: string]: unknown }>
  server: Server
}

/**
 * A scripted OpenAI-compatible chat server on loopback: answers `/v1/chat/completions` in
 * order (then `fallback`, a reply used for every later request), and records what it was asked.
 */
export async function scriptedLlm (replies: ScriptedReply[], fallback: ScriptedReply = 'DESCRIPTION: nothing left'): Promise<ScriptedLlm> {
  const requests: ScriptedLlm['requests'] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => { body += c })
    req.on('end', () => {
      if (req.url !== '/v1/chat/completions' || req.method !== 'POST') { res.writeHead(404).end(); return }
      requests.push(JSON.parse(body))
      const reply = replies.shift() ?? fallback
      if (typeof reply !== 'string') {
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers }).end(reply.body ?? JSON.stringify({ error: { message: `status ${reply.status}`, type: 'scripted' } }))
        return
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' }] }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, requests, server }
}
