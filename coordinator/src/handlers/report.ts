import type { Handler, ReportReply, ReportRequest } from '@autoresearch/protocol'
import type { z } from 'zod'
import type { Coordinator } from '../coordinator.ts'
import { acceptReports } from '../shared-intake.ts'

export type ReportDeps = Pick<Coordinator, 'sharedContext' | 'emit'>

/**
 * `report`: a signed batch of experiment reports. Not in the serial queue: a report changes
 * no candidate, job or best, and its one transaction is atomic on its own, so submissions and
 * verdicts never wait behind a stream of reports.
 */
export function reportHandler (c: ReportDeps): Handler<z.infer<typeof ReportRequest>> {
  return async (req, { remoteAddr }): Promise<ReportReply> => {
    const { accepted, firstSeq } = acceptReports(c.sharedContext(remoteAddr), req.body, req.signature)
    c.emit('event', { type: 'experiments-reported', worker: req.body.publicKey, count: accepted, firstSeq })
    return { ok: true, accepted, firstSeq }
  }
}
