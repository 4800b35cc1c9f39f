import { setTimeout as delay } from 'node:timers/promises'
import { logger } from '@libp2p/logger'
import { z } from 'zod'
import { AgentRequestError } from './errors.ts'
import { retryDecision } from './request-retry.ts'

const log = logger('autoresearch:protocol:chat')

/**
 * How to reach an OpenAI-compatible chat endpoint (llama.cpp, vLLM, ollama, hosted APIs):
 * what the worker's `openai` agent, the planner and the coordinator's reporter share.
 */
export interface ChatOptions {
  /** Base URL of an OpenAI-compatible API, e.g. http://127.0.0.1:8080/v1 (llama.cpp, vLLM, ollama) or a hosted one. */
  baseUrl: string
  model: string
  apiKey?: string
  /** The answer's token limit (default 2048). */
  maxTokens?: number
  /** How the limit is sent: `max_tokens` (default), or `max_completion_tokens`, which reasoning models require. */
  tokenLimit?: 'max_tokens' | 'max_completion_tokens'
  /** Sampling temperature (default 0.7); null leaves it out, for models that accept only their default. */
  temperature?: number | null
  /** Time limit of one request (default 120 s). */
  timeoutMs?: number
  /** Retries of one request that failed in passing (429, 5xx, a timeout, no connection), default 4; see request-retry.ts. */
  requestRetries?: number
  /** First wait before such a retry when the server names none (`Retry-After`), doubling after (default 1 s). */
  retryBaseMs?: number
  /** Called before a request that failed in passing is sent again. */
  onRequestRetry?: (reason: string, retryInMs: number) => void
}

const ChatReply = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string().nullable() }) })).min(1)
})

/** The chat completions endpoint under an OpenAI-compatible base URL. */
export const chatUrl = (baseUrl: string): string => `${baseUrl.replace(/\/+$/, '')}/chat/completions`

/**
 * One chat completion. A request that fails in passing (rate limit, server error, timeout,
 * no connection) is sent again after the wait the server asks for or a doubling backoff
 * (request-retry.ts): a failure in passing costs time, not the answer.
 */
export async function chat (opts: ChatOptions, messages: unknown[], signal?: AbortSignal): Promise<string> {
  const url = chatUrl(opts.baseUrl)
  const body = JSON.stringify({
    model: opts.model, messages, [opts.tokenLimit ?? 'max_tokens']: opts.maxTokens ?? 2048,
    ...(opts.temperature === null ? {} : { temperature: opts.temperature ?? 0.7 })
  })
  const policy = { retries: opts.requestRetries ?? 4, baseMs: opts.retryBaseMs ?? 1000 }
  // A function, not a narrowed property: the signal may abort during the wait.
  const stopped = (): boolean => signal?.aborted === true
  for (let retry = 0; ; retry++) {
    const outcome = await request(url, opts, body, signal)
    if ('text' in outcome) return parseReply(url, outcome.text)
    const decision = retryDecision(outcome, retry, policy)
    if ('giveUp' in decision) throw new AgentRequestError(retry === 0 ? outcome.message : `${outcome.message} (${decision.giveUp})`)
    if (stopped()) throw new AgentRequestError(`${outcome.message} (stopped)`)
    log('%s; again in %d ms', outcome.message, decision.retryInMs)
    opts.onRequestRetry?.(outcome.message, decision.retryInMs)
    // An abort ends the wait early; the check below then stops the proposal.
    await delay(decision.retryInMs, undefined, signal === undefined ? {} : { signal }).catch((err) => { log('wait before asking again ended: %e', err) })
    if (stopped()) throw new AgentRequestError(`${outcome.message} (stopped while waiting to ask again)`)
  }
}

/** The most of one answer that is read: a chat completion is kilobytes; an endpoint must not fill the asker's memory. */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024

/** The response body as text, or undefined past `max` bytes, which are not read (the request's own signal bounds the time). */
async function readCapped (res: Response, max: number): Promise<string | undefined> {
  if (res.body === null) return ''
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let bytes = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    bytes += value.byteLength
    if (bytes > max) {
      await reader.cancel().catch((err) => { log('cancelling an oversized answer failed: %e', err) })
      return undefined
    }
    chunks.push(value)
  }
  return new TextDecoder().decode(Buffer.concat(chunks))
}

type Outcome = { text: string } | { status?: number, retryAfter?: string | null, message: string }

async function request (url: string, opts: ChatOptions, body: string, signal?: AbortSignal): Promise<Outcome> {
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 120_000)
  let res: Response
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(opts.apiKey === undefined ? {} : { authorization: `Bearer ${opts.apiKey}` }) },
      body,
      signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout])
    })
  } catch (err) {
    return { message: `cannot reach ${url}: ${err instanceof Error ? err.message : String(err)}` }
  }
  let text: string | undefined
  try {
    text = await readCapped(res, MAX_ANSWER_BYTES)
  } catch (err) {
    return { message: `${url} broke off its answer: ${err instanceof Error ? err.message : String(err)}` }
  }
  // Not a passing failure: the same endpoint would answer the same way again.
  if (text === undefined) throw new AgentRequestError(`${url} answered more than ${MAX_ANSWER_BYTES} bytes; the rest was not read`)
  if (!res.ok) return { status: res.status, retryAfter: res.headers.get('retry-after'), message: `${url} answered ${res.status}: ${text.slice(0, 300)}` }
  return { text }
}

function parseReply (url: string, text: string): string {
  let parsed: z.infer<typeof ChatReply>
  try {
    parsed = ChatReply.parse(JSON.parse(text))
  } catch (err) {
    throw new AgentRequestError(`${url} did not answer like an OpenAI chat completion: ${text.slice(0, 200)}`, { cause: err })
  }
  return parsed.choices[0]?.message.content ?? ''
}
