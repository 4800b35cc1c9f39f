import { commitTree, improvement, type CoordinatorClient, type InfoReply, type Manifest, type PendingCandidate } from '@autoresearch/protocol'
import { stopped } from '@autoresearch/runner'
import type { Local, WorkerComponents } from '../components.ts'
import type { Position } from '../state.ts'
import type { NoiseFor } from './noise.ts'
import { beatsHere } from './submission.ts'

/**
 * The pending candidate to build on, where the cause declares `collaboration.buildOnPending`:
 * the first in the order the coordinator verifies them (`pending`, as `history` lists it) that
 * is not this worker's own, was not measured and set aside here already, and claims to beat
 * the base by the cause's margin. Undefined: the loop searches on the best itself.
 */
export function pendingToAdopt (manifest: Pick<Manifest, 'metric' | 'verification'>, args: { base: Local, pending: readonly PendingCandidate[], self: string, declined: ReadonlySet<number> }): PendingCandidate | undefined {
  const margin = manifest.verification.minImprovement
  return args.pending.find((c) => c.submitter !== args.self && !args.declined.has(c.seq) && improvement(manifest, args.base.metric, c.claimedMetric) > margin)
}

/**
 * Fetches another worker's pending candidate on the best (held to the cause's limits, as a new
 * best is) and measures it on the loop's experiment seed. Returns it as the local best to build
 * on when it beats the base here as a submission must (`beatsHere`, with this machine's σ from `noiseFor`, measured first where the gain needs it), else undefined (and the caller sets it aside on this best). A
 * candidate whose parent is not the base (carried meanwhile, or a lie in `history`) is not built on.
 */
export async function measurePending (components: { client: Pick<CoordinatorClient, 'sync'> } & Pick<WorkerComponents, 'gitdir' | 'trial' | 'emit'>, args: { info: InfoReply, at: Pick<Position, 'base' | 'seeds'>, candidate: PendingCandidate, known: Set<string>, n: number, noiseFor: NoiseFor }, options: { signal?: AbortSignal } = {}): Promise<Local | undefined> {
  const { info, at, candidate, known, n } = args
  const { manifest } = info
  components.emit({ type: 'phase', phase: 'syncing', n })
  await components.client.sync(components.gitdir, candidate.commit, [...known].slice(-256), { signal: options.signal, limits: manifest.limits })
  const { parents } = await commitTree(components.gitdir, candidate.commit)
  if (parents.length !== 1 || parents[0] !== at.base.commit) return undefined
  components.emit({ type: 'measuring', what: 'pending', commit: candidate.commit, seed: at.seeds.experiment, run: 1, runs: 1, n })
  const run = stopped(await components.trial({ manifest, commit: candidate.commit, seed: at.seeds.experiment }, options), options.signal)
  const adopted = run.ok && beatsHere(manifest, at.base.metric, run.metric, await args.noiseFor(at.base.metric, run.metric))
  components.emit({ type: 'pending-measured', seq: candidate.seq, commit: candidate.commit, claimedMetric: candidate.claimedMetric, metric: run.ok ? run.metric : null, adopted })
  return adopted && run.ok ? { commit: candidate.commit, metric: run.metric } : undefined
}

/**
 * The position once the loop builds on `candidate` (measured here at `local.metric`): it stands
 * as if this worker had submitted it, so a later find goes on top of it (operations/delta.ts,
 * `onto`) and must beat it by the margin (`lastClaim`), and `adopted` keeps any of it from going
 * out as this worker's own (worker.ts never squashes a chain that holds it onto the best).
 */
export function adoptedPosition (at: Position, candidate: Pick<PendingCandidate, 'seq' | 'commit' | 'description'>, local: Local): Position {
  return {
    ...at,
    local,
    keptSinceBase: [`built on candidate #${candidate.seq}: ${candidate.description}`.slice(0, 300)],
    submittedLocal: candidate.commit,
    submittedCandidate: candidate.commit,
    lastClaim: local.metric,
    adopted: { seq: candidate.seq, commit: candidate.commit }
  }
}
