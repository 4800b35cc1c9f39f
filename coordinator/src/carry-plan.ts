import { OPEN_STATES, type Manifest } from '@autoresearch/protocol'
import { passerOf } from './group.ts'
import { inFlightOn, paceOf, submissionsIn } from './group-members.ts'
import { heldBy, waitEnds } from './rules/hold.ts'
import { formGroups } from './rules/groups.ts'
import { queueOrder } from './rules/queue-order.ts'
import { openLineageOf } from './lineage.ts'
import { openAhead } from './rules/speculation.ts'
import type { CandidateRow, Store } from './store/index.ts'

export type CarryStore = Pick<Store, 'candidatesOff' | 'candidatesOn' | 'leasedCandidates' | 'candidateByCommit' | 'candidate' | 'latestRebase' | 'groupMembers' | 'lastGroupOf' | 'views' | 'rejectedOnDeadBases' | 'jobsFor' | 'attestationsFor'>

/** What one turn carries onto the best: merge groups (members in queue order; one member is a plain rebase), then stale candidates to rebase. */
export interface CarryPlan {
  /** Passed against the best while it was still a candidate being verified (speculation): they merge now, in queue order. */
  promote: CandidateRow[]
  groups: CandidateRow[][]
  rebase: CandidateRow[]
  /** Stale candidates left for later turns. */
  remaining: number
  /** When the first wait of a pass held for a larger group may end (rules/hold.ts; Infinity: none waits): a turn then may merge it. */
  heldUntil: number
}

const NOTHING: CarryPlan = { promote: [], groups: [], rebase: [], remaining: 0, heldUntil: Infinity }


/**
 * Candidates on a best that has moved, read once per turn: those with no verification in
 * flight (`stale`, to carry onto the best), the parents of those still under a live lease
 * (`verifying`: passers on them wait, rules/groups.ts), and when the first of those leases
 * runs out.
 */
export function staleCandidates (store: Pick<Store, 'candidatesOff' | 'candidatesOn' | 'leasedCandidates' | 'candidateByCommit' | 'candidate' | 'latestRebase'>, best: string, now = Date.now(), opts: { speculation?: boolean } = {}): { stale: CandidateRow[], verifying: Set<string>, firstExpiry: number } {
  const leased = store.leasedCandidates(now)
  const off = store.candidatesOff(best)
  // A candidate on one still open waits for that one's verdict: a copy speculation carried onto
  // the chain in flight from the best, or an original its author submitted there (intake.ts),
  // wherever that one is and whichever copy of it the coordinator carried on.
  const ahead = opts.speculation === true
    ? openAhead(best, [...store.candidatesOn(best, [...OPEN_STATES]), ...off].map((c) => ({ seq: c.seq, commit: c.commit_oid, parent: c.parent_oid, inFlight: false })))
    : new Set<string>()
  const waits = (c: CandidateRow): boolean => ahead.has(c.parent_oid) || (c.origin_seq === null && openLineageOf(store, c.parent_oid) !== undefined)
  const stale: CandidateRow[] = []
  const verifying = new Set<string>()
  // A loop, not Math.min(...): a queue of a hundred thousand would overflow the call's arguments.
  let firstExpiry = Infinity
  for (const c of off) {
    if (waits(c)) continue
    const until = leased.get(c.seq)
    if (until === undefined) { stale.push(c); continue }
    verifying.add(c.parent_oid)
    firstExpiry = Math.min(firstExpiry, until)
  }
  return { stale, verifying, firstExpiry }
}

/**
 * Decides what each turn of the serial queue carries onto the best; Coordinator.rebaseStale
 * carries it out with git, the simulation (bench/lib/sim) with a model of git. Candidates that
 * passed against an old best go on in merge groups (rules/groups.ts) before the rest; one whose
 * parent is the best again (after a revert) is verified on it again, alone. Then up to `limit`
 * stale candidates, best claims first.
 *
 * A turn that finds nothing to carry is remembered until the database changes (here or in
 * the admin CLI), the best moves, or a lease on an old best runs out: after a merge every
 * idle verifier's lease request takes a turn, and those turns then cost one query each
 * instead of a read of every candidate left on old bests.
 */
export class CarryPlanner {
  readonly #store: CarryStore
  readonly #manifest: Manifest
  readonly #groups: boolean
  #quiet: { best: string, version: string, until: number } | undefined

  /** `groups: false` is the network before merge groups (the simulation's `serial`): every passer is rebased alone, at once. */
  constructor (deps: { store: CarryStore, manifest: Manifest }, opts: { groups?: boolean } = {}) {
    this.#store = deps.store
    this.#manifest = deps.manifest
    this.#groups = opts.groups ?? true
  }

  plan (best: string, limit: number, now = Date.now()): CarryPlan {
    const store = this.#store
    const quiet = this.#quiet
    if (quiet !== undefined && quiet.best === best && now <= quiet.until && quiet.version === store.views.version()) return NOTHING
    this.#quiet = undefined
    const speculation = this.#manifest.verification.speculation !== undefined
    const off = staleCandidates(store, best, now, { speculation })
    const stale = queueOrder(this.#manifest, off.stale)
    const onBest = queueOrder(this.#manifest, store.candidatesOn(best, ['passed']))
    // Its paired trials were measured against exactly this commit, before it became the best
    // (speculation), or on it while a larger merge group was in flight (rules/hold.ts): it
    // merges now unless such a group is still being verified.
    const waiting = onBest.filter((c) => c.verdict?.passedOn === best)
    const inFlight = waiting.length === 0 ? [] : inFlightOn(store, best, now)
    // A pace costs two reads per waiting candidate: none when nothing is in flight to wait for.
    const paces = inFlight.length === 0 ? [] : waiting.map((c) => paceOf(store, c.seq))
    const holds = waiting.map((c, i) => heldBy(submissionsIn(store, c), inFlight, now, paces[i]))
    const promote = waiting.filter((_, i) => holds[i]?.length === 0)
    // A loop, not Math.min(...), as in staleCandidates.
    let heldUntil = Infinity
    for (const [i, h] of holds.entries()) for (const f of h ?? []) heldUntil = Math.min(heldUntil, waitEnds(f, paces[i]))
    const passed = [...stale.filter((c) => c.state === 'passed'), ...onBest.filter((c) => c.verdict?.passedOn !== best)]
    const seqs = this.#groups ? formGroups(passed.map((c) => passerOf(store, c, best)), off.verifying).groups : passed.map((c) => [c.seq])
    // A rejection on top of a candidate that never merged was measured on a base that is gone: carried back.
    const others = [...stale.filter((c) => c.state !== 'passed'), ...(speculation ? store.rejectedOnDeadBases() : [])]
    const plan = {
      promote,
      groups: seqs.map((group) => group.map((seq) => passed.find((c) => c.seq === seq) as CandidateRow)),
      rebase: others.slice(0, limit),
      remaining: Math.max(0, others.length - limit),
      heldUntil
    }
    if (plan.promote.length === 0 && plan.groups.length === 0 && plan.rebase.length === 0 && plan.remaining === 0) this.#quiet = { best, version: store.views.version(), until: Math.min(off.firstExpiry, heldUntil) }
    return plan
  }
}
