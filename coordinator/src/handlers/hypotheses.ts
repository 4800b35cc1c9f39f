import type { Handler, HypothesesReply, HypothesesRequest } from '@autoresearch/protocol'
import type { z } from 'zod'
import type { Coordinator } from '../coordinator.ts'
import { acceptHypotheses } from '../shared-intake.ts'

export type HypothesesDeps = Pick<Coordinator, 'sharedContext' | 'emit'>

/** `hypotheses`: a planner posts ideas for workers to test (shared-intake.ts). */
export function hypothesesHandler (c: HypothesesDeps): Handler<z.infer<typeof HypothesesRequest>> {
  return async (req, { remoteAddr }): Promise<HypothesesReply> => {
    const ids = acceptHypotheses(c.sharedContext(remoteAddr), req.body, req.signature)
    c.emit('event', { type: 'hypotheses-posted', author: req.body.publicKey, ids })
    return { ok: true, ids }
  }
}
