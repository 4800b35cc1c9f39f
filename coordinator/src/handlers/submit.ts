import type { Handler, SubmitReply, SubmitRequest } from '@autoresearch/protocol'
import type { z } from 'zod'
import type { Coordinator } from '../coordinator.ts'
import { intake } from '../intake.ts'

export type SubmitDeps = Pick<Coordinator, 'manifest' | 'serially' | 'intakeContext' | 'emit'>

/**
 * `submit`: a signed submission followed by its pack (one frame, capped by the cause);
 * intake runs in the serial queue and answers with a signed receipt or a typed refusal.
 */
export function submitHandler (c: SubmitDeps): Handler<z.infer<typeof SubmitRequest>> {
  return async (req, ctx): Promise<SubmitReply> => {
    try {
      const pack = await ctx.framed.readBytes(c.manifest.limits.maxPackBytes)
      const { receipt, signature } = await c.serially(async () => intake(c.intakeContext(), req.body, req.signature, pack, ctx.remoteAddr), { signal: ctx.signal })
      c.emit('event', { type: 'receipt', candidateSeq: receipt.candidateSeq, submitter: receipt.submitter, claimedMetric: req.body.claimedMetric, description: req.body.description })
      return { ok: true, receipt, signature }
    } catch (err) {
      c.emit('event', { type: 'submission-rejected', error: (err as Error).name, message: (err as Error).message, submitter: req.body.publicKey })
      throw err
    }
  }
}
