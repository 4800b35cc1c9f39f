import { OPEN_STATES, type Hardware, type Trial } from '@autoresearch/protocol'
import { openLineageOf } from '../../lineage.ts'
import { provisionalRejection } from '../../rules/speculation.ts'
import type { PairedTest } from '../../stats.ts'
import type { CandidateRow, CandidateState } from '../../store/index.ts'
import { extrasOf, summaryOf, type CandidateSummary } from './candidates.ts'
import type { SiteDeps } from './deps.ts'
import { extraFigures, type ExtraFigure } from './extras.ts'
import type { CommitFiles, FileDiff } from './files.ts'
import type { MergeView } from './merges.ts'

export interface AttestationView { verifier: string, round: number, receivedAt: number, hardware: Hardware | null, trials: number }

export interface CandidateDetail extends CandidateSummary {
  tree: string
  /** The hardware the worker said it ran on, if it said. */
  workerHardware: Hardware | null
  seeds: number[]
  rounds: number
  trials: Array<Trial & { verifier: string }>
  test: PairedTest | null
  /** Figures evaluate wrote beside the metric (params, ...), each side's mean over the trials; empty when none. */
  extras: ExtraFigure[]
  disagreeing: string[]
  attestations: AttestationView[]
  rebasedFrom: number | null
  rebasedAs: number[]
  merge: { seq: number, mergedAt: number, revertedAt: number | null } | null
  /** Null while the diff is not public (see diffHidden). */
  diff: FileDiff[] | null
  diffHidden: string | null
  /** A rejection measured on top of a candidate that has not merged: it may yet be verified on the best. */
  provisional: boolean
  /** A pass on the best waiting for this larger merge group, still being verified there (rules/hold.ts). */
  heldFor: number | null
  /** Queued on its author's own candidate still undecided: that one (or the copy carrying it), which it waits for (carry-plan.ts). */
  waitsFor: number | null
}

/** Candidates whose diff may be public: verification has decided them. */
const DECIDED: ReadonlySet<CandidateState> = new Set(['merged', 'rejected', 'reverted'])
/** A change in a candidate in these states is not judged (yet): open, or stale (never verified; its author may redo it). */
const UNJUDGED: ReadonlySet<CandidateState> = new Set([...OPEN_STATES, 'stale'])

/** Whether a closed candidate's change is still to be verified elsewhere. */
export interface ChangeFacts {
  /** A rejection measured on top of a candidate that has not merged (rules/speculation.ts `provisionalRejection`). */
  provisional: boolean
  /** A candidate that carries its change is still open or went stale (a newer rebase, a merge group, or for a failed group its members going on in halves): the change is not judged. */
  carriedUnjudged: boolean
}

/**
 * The coordinator gives a pending candidate's objects only to verifiers (so nobody can
 * copy a change and claim a variant of it first); the site keeps the same rule, also for a
 * change that lives on in another candidate still open.
 */
export function diffHidden (state: CandidateState, facts: ChangeFacts): string | null {
  if (state === 'stale') return 'The change could not be carried onto the new best; it stays private so its author can redo it.'
  if (!DECIDED.has(state) && state !== 'rebased') return 'The change is published once verification decides.'
  if (state === 'rejected' && facts.provisional) return 'It was rejected on top of a candidate that has not merged; if that one fails, it is verified again on the best. The change is published once verification decides.'
  if ((state === 'rebased' || state === 'rejected') && facts.carriedUnjudged) return 'Its change went on as another candidate (a rebase or a merge group) that is still being verified or went stale; it is published once verification decides it.'
  return null
}

type LineageStore = Pick<SiteDeps['store'], 'candidate' | 'latestRebase'>

/** Whether `c`, or the newest candidate carrying its change (a rebase, a merge group), is still open or went stale. */
function unjudged (store: LineageStore, c: CandidateRow): boolean {
  if (UNJUDGED.has(c.state)) return true
  const latest = store.latestRebase(c.origin_seq ?? c.seq)
  const carrier = latest === undefined || latest === c.seq ? undefined : store.candidate(latest)
  return carrier !== undefined && UNJUDGED.has(carrier.state)
}

/** What `diffHidden` needs to know of a closed candidate's change, read from the store. */
function changeFacts (store: LineageStore & Pick<SiteDeps['store'], 'groupMembers' | 'isMergedCommit'>, c: CandidateRow): ChangeFacts {
  if (c.state !== 'rebased' && c.state !== 'rejected') return { provisional: false, carriedUnjudged: false }
  const members = store.groupMembers(c.seq)
  return {
    provisional: provisionalRejection(c.state, store.isMergedCommit(c.parent_oid)),
    carriedUnjudged: unjudged(store, c) || members.some((m) => unjudged(store, m))
  }
}

/** A candidate with its trials, attestations and (once decided) its diff; undefined if unknown. */
export async function candidate (deps: Pick<SiteDeps, 'store'>, files: Pick<CommitFiles, 'diff'>, merges: MergeView[], seq: number): Promise<CandidateDetail | undefined> {
  const c = deps.store.candidate(seq)
  if (c === undefined) return undefined
  const v = c.verdict
  const attestations = deps.store.attestationsFor(seq)
  const rebases = deps.store.views.rebasesOf(c.origin_seq ?? c.seq)
  const merge = merges.findLast((m) => m.kind === 'merge' && m.candidateSeq === seq)
  const facts = changeFacts(deps.store, c)
  const hidden = diffHidden(c.state, facts)
  const trials = v?.trials ?? attestations.flatMap((a) => a.body.trials.map((t) => ({ ...t, verifier: a.verifier })))
  return {
    ...summaryOf(c, attestations.length > 0 ? Math.max(...attestations.map((a) => a.received_at)) : null),
    tree: c.tree_oid,
    workerHardware: extrasOf(c.submission.body).hardware,
    seeds: c.seeds.flat(),
    rounds: c.rounds,
    trials,
    test: v?.test ?? null,
    extras: extraFigures(trials),
    disagreeing: v?.disagreeing ?? [],
    attestations: attestations.map((a) => ({ verifier: a.verifier, round: a.round, receivedAt: a.received_at, hardware: a.body.hardware, trials: a.body.trials.length })),
    rebasedFrom: c.origin_seq,
    rebasedAs: c.state === 'rebased' ? rebases.filter((f) => f.seq > c.seq).map((f) => f.seq) : [],
    merge: merge === undefined ? null : { seq: merge.seq, mergedAt: merge.mergedAt, revertedAt: merge.revertedAt },
    diff: hidden === null ? await files.diff(c.parent_oid, c.commit_oid) : null,
    diffHidden: hidden,
    provisional: facts.provisional,
    heldFor: c.state === 'passed' ? v?.heldFor ?? null : null,
    waitsFor: c.state === 'queued' && c.origin_seq === null ? openLineageOf(deps.store, c.parent_oid)?.seq ?? null : null
  }
}
