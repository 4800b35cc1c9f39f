import { logger } from '@libp2p/logger'
import { z } from 'zod'
import { AgentRequestError, EditFormatError } from '../errors.ts'
import { applyEdits, buildPrompt, EDIT_FORMAT, parseEdits } from './edits.ts'
import type { Agent, AgentContext, Proposal } from './types.ts'

export interface OpenAIAgentOptions {
  /** Base URL of an OpenAI-compatible API, e.g. http://127.0.0.1:8080/v1 (llama.cpp, vLLM, ollama) or a hosted one. */
  baseUrl: string
  model: string
  apiKey?: string
  /** Attempts per proposal; each retry tells the model what was wrong with its last answer. */
  attempts?: number
  maxTokens?: number
  timeoutMs?: number
  /** Called on each rejected answer (malformed, protected file, does not apply). */
  onRetry?: (error: string) => void
}

const log = logger('autoresearch:worker:openai-agent')

const ChatReply = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string().nullable() }) })).min(1)
})


/** Asks any OpenAI-compatible chat endpoint for an edit in the strict search/replace format. */
export function openaiAgent (opts: OpenAIAgentOptions): Agent {
  const url = `${opts.baseUrl.replace(/\/+$/, '')}/chat/completions`
  const attempts = opts.attempts ?? 3
  return {
    name: 'openai',
    async propose (ctx: AgentContext): Promise<Proposal | null> {
      const messages: Array<{ role: string, content: string }> = [
        { role: 'system', content: `You are a research engineer running short experiments.\n${EDIT_FORMAT}` },
        { role: 'user', content: buildPrompt(ctx) }
      ]
      for (let attempt = 1; attempt <= attempts; attempt++) {
        const content = await chat(url, opts, messages, ctx.signal)
        try {
          const { description, blocks } = parseEdits(content)
          return { edits: applyEdits(ctx.files, blocks), description }
        } catch (err) {
          if (!(err instanceof EditFormatError)) throw err
          log('answer refused (attempt %d of %d): %s', attempt, attempts, err.message)
          opts.onRetry?.(err.message)
          messages.push({ role: 'assistant', content }, { role: 'user', content: `That answer could not be used: ${err.message}. ${EDIT_FORMAT}` })
        }
      }
      return null
    }
  }
}

async function chat (url: string, opts: OpenAIAgentOptions, messages: unknown[], signal?: AbortSignal): Promise<string> {
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 120_000)
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(opts.apiKey === undefined ? {} : { authorization: `Bearer ${opts.apiKey}` }) },
    body: JSON.stringify({ model: opts.model, messages, max_tokens: opts.maxTokens ?? 2048, temperature: 0.7 }),
    signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout])
  }).catch((err: unknown) => { throw new AgentRequestError(`cannot reach ${url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err }) })
  const text = await res.text()
  if (!res.ok) throw new AgentRequestError(`${url} answered ${res.status}: ${text.slice(0, 300)}`)
  let parsed: z.infer<typeof ChatReply>
  try {
    parsed = ChatReply.parse(JSON.parse(text))
  } catch (err) {
    throw new AgentRequestError(`${url} did not answer like an OpenAI chat completion: ${text.slice(0, 200)}`, { cause: err })
  }
  return parsed.choices[0]?.message.content ?? ''
}
