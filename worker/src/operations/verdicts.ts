import type { CoordinatorClient } from '@autoresearch/protocol'
import type { WorkerComponents } from '../components.ts'

/**
 * Asks about our submissions still in flight (`pending`, updated in place) and reports
 * each one that was decided. Returns whether a claim was refused or went stale: it no
 * longer stands, so the next submission need not beat it.
 */
export async function checkVerdicts (components: Pick<WorkerComponents, 'emit'> & { client: Pick<CoordinatorClient, 'candidate'> }, pending: Set<number>, options: { signal?: AbortSignal } = {}): Promise<{ claimWithdrawn: boolean }> {
  let claimWithdrawn = false
  for (const seq of [...pending]) {
    const status = await components.client.candidate(seq, options)
    if (status.state === 'queued' || status.state === 'verifying' || status.state === 'passed') continue
    pending.delete(seq)
    if (status.state === 'rebased' && status.rebasedAs !== null) pending.add(status.rebasedAs)
    if (status.state === 'rejected' || status.state === 'stale') claimWithdrawn = true
    components.emit({ type: 'verdict', status })
  }
  return { claimWithdrawn }
}
