import type { Handler, InfoReply, InfoRequest } from '@autoresearch/protocol'
import type { z } from 'zod'
import type { Coordinator } from '../coordinator.ts'
import type { BestRunsMemo } from '../best-runs.ts'
import type { MergeRow } from '../store/index.ts'

export type InfoDeps = Pick<Coordinator, 'causeId' | 'identity' | 'manifest' | 'currentProgram' | 'bestMerge'> & { bestRuns: Pick<BestRunsMemo, 'runs'> }

/** A merge row as the wire names the best (info, announcements, status). */
export function wireBest (row: MergeRow): InfoReply['best'] {
  return { commit: row.commit_oid, metric: row.metric, seq: row.index }
}

/**
 * `info`: what a newcomer needs to join: the cause's manifest and program, the coordinator's
 * key and the best, with the best's verified runs (best-runs.ts), so that a worker on the
 * verifiers' hardware need not measure it again.
 */
export function infoHandler (c: InfoDeps): Handler<z.infer<typeof InfoRequest>> {
  return async (): Promise<InfoReply> => {
    const best = c.bestMerge()
    return {
      ok: true, causeId: c.causeId, coordinatorKey: c.identity.publicKey, manifest: c.manifest, program: await c.currentProgram(best.commit_oid), best: wireBest(best), bestRuns: c.bestRuns.runs(best)
    }
  }
}
