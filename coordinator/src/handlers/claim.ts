import type { ClaimReply, ClaimRequest, Handler } from '@autoresearch/protocol'
import type { z } from 'zod'
import type { Coordinator } from '../coordinator.ts'
import { acceptClaim } from '../shared-intake.ts'

export type ClaimDeps = Pick<Coordinator, 'sharedContext'>

/** `claim`: a worker about to run an edit or test a hypothesis; granted, or told to choose another (shared-intake.ts). */
export function claimHandler (c: ClaimDeps): Handler<z.infer<typeof ClaimRequest>> {
  return async (req, { remoteAddr }): Promise<ClaimReply> => ({ ok: true, ...acceptClaim(c.sharedContext(remoteAddr), req.body, req.signature) })
}
