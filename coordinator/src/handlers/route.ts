import { handleRequests, type AutoresearchNode, type Handler } from '@autoresearch/protocol'
import type { z } from 'zod'

/** One request/reply protocol and the handler that answers it; coordinator.ts keeps the table of them. */
export interface Route {
  protocol: string
  register: (node: AutoresearchNode) => Promise<void>
}

export function route<S extends z.ZodType> (protocol: string, schema: S, handler: Handler<z.infer<S>>): Route {
  return { protocol, register: async (node) => { await handleRequests(node, protocol, schema, handler) } }
}
