import { logger } from '@libp2p/logger'
import { chat, type ChatOptions } from '@autoresearch/protocol'
import { EditFormatError } from '../errors.ts'
import { applyEdits, EDIT_FORMAT, parseEdits } from './edits.ts'
import { buildPrompt } from './prompt.ts'
import type { Agent, AgentContext, Proposal } from './types.ts'

export interface OpenAIAgentOptions extends ChatOptions {
  /** Attempts per proposal; each retry tells the model what was wrong with its last answer. */
  attempts?: number
  /** Called on each rejected answer (malformed, protected file, does not apply). */
  onRetry?: (error: string) => void
}

const log = logger('autoresearch:worker:openai-agent')

/**
 * Asks any OpenAI-compatible chat endpoint for an edit in the strict search/replace format.
 * A request that fails in passing is sent again (protocol's chat.ts), so it costs time, never
 * an experiment.
 */
export function openaiAgent (opts: OpenAIAgentOptions): Agent {
  const attempts = opts.attempts ?? 3
  return {
    name: 'openai',
    async propose (ctx: AgentContext): Promise<Proposal | null> {
      const messages: Array<{ role: string, content: string }> = [
        { role: 'system', content: `You are a research engineer running short experiments.\n${EDIT_FORMAT}` },
        { role: 'user', content: buildPrompt(ctx) }
      ]
      for (let attempt = 1; attempt <= attempts; attempt++) {
        const content = await chat(opts, messages, ctx.signal)
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
