/**
 * Batches (docs/trust.md, "Batches"; rules/batch.ts decides which): queued candidates that
 * were never verified, on the best or on an older one not yet carried, combined into one group
 * commit, each member's own change (its parent the merge base, as a carry takes it) merged onto
 * the best in queue order, verified once. A member that does not merge cleanly with the ones
 * before it stays queued, to be verified (or carried) on its own or go in a later batch.
 */
import { changedPaths, commitTreeOn, protectedChanges, type Manifest } from '@autoresearch/protocol'
import { mergeInOrder, storeGroup } from './group.ts'
import { membersOf } from './group-members.ts'
import type { RebaseContext } from './rebase.ts'
import { pickBatch, type Batchable } from './rules/batch.ts'
import { queueOrder } from './rules/queue-order.ts'
import type { CandidateRow, Store } from './store/index.ts'

export type BatchStore = Pick<Store, 'candidatesOn' | 'candidatesOff' | 'isMergedCommit' | 'lastGroupOf' | 'groupMembers' | 'jobsFor' | 'identity'>

/** A queued candidate as the batching reads it. */
function batchableOf (store: BatchStore, c: CandidateRow): Batchable {
  const last = store.lastGroupOf(c.seq)
  return {
    seq: c.seq,
    submitter: c.submitter,
    started: store.jobsFor(c.seq).length > 0,
    group: membersOf(store, c).length > 0,
    trusted: store.identity(c.submitter).accepted > 0,
    ...(last === undefined ? {} : { failedGroup: { seq: last, members: store.groupMembers(last).map((m) => m.seq) } })
  }
}

/** `rows` mapped one at a time, as the reader asks: pickBatch stops early, and each map costs four lookups. */
function * lazily<T, U> (rows: readonly T[], map: (row: T) => U): Generator<U> {
  for (const row of rows) yield map(row)
}

/**
 * The queued candidates rules/batch.ts picks for this verifier, in queue order, starting from
 * `from` when given (none: no batch, or the cause declares none). The simulation (bench/lib/sim)
 * calls this too, with the merges modelled.
 */
export function batchMembers (store: BatchStore, manifest: Manifest, verifier: string, best: string, from?: number): CandidateRow[] {
  const size = manifest.verification.batch?.size
  if (size === undefined) return []
  // Queued on an older best too: its own change (its parent the merge base) goes in as a carry would take it.
  const off = store.candidatesOff(best).filter((c) => c.state === 'queued' && store.isMergedCommit(c.parent_oid))
  const all = queueOrder(manifest, [...store.candidatesOn(best, ['queued']), ...off])
  const queued = from === undefined ? all : all.slice(Math.max(0, all.findIndex((c) => c.seq === from)))
  const picked = new Set(pickBatch(lazily(queued, (c) => batchableOf(store, c)), verifier, size))
  return picked.size < 2 ? [] : queued.filter((c) => picked.has(c.seq))
}

/**
 * Where a batch goes: onto the best, or (speculation) onto `onto`, a candidate still being
 * verified, starting from the queued candidate `from`; `unformed`, the batches that did not form
 * before, which are not merged again.
 */
export interface BatchOptions { onto?: CandidateRow, from?: number, unformed?: Unformed }

/** How many batches that did not form are remembered (the oldest are forgotten first). */
const UNFORMED_KEPT = 256

/**
 * Batches that did not form: members that conflict with each other or add nothing, a tree
 * someone submitted, a protected change. Merges are deterministic, so the same members on the
 * same parent would fail again: each lease turn would redo up to `size` git merges for nothing
 * (a key could make it so by submitting changes that conflict with others').
 */
export class Unformed {
  readonly #keys = new Set<string>()

  static key (parent: string, members: readonly CandidateRow[]): string {
    return `${parent}:${members.map((m) => m.seq).join(',')}`
  }

  has (key: string): boolean { return this.#keys.has(key) }

  add (key: string): void {
    if (this.#keys.size >= UNFORMED_KEPT) this.#keys.delete(this.#keys.values().next().value as string)
    this.#keys.add(key)
  }
}

/**
 * Forms the batch this verifier should get, if the cause declares `verification.batch` and
 * the queue has one: stores the group (its members `rebased` into it, rules/batch.ts picks
 * them) and returns its seq and members; otherwise nothing changes. With `onto` (speculation,
 * speculate.ts) the members' changes go onto that candidate instead, and the batch is measured
 * against it. Call it in the serial queue.
 */
export async function formBatch (ctx: RebaseContext, verifier: string, best: string, opts: BatchOptions = {}): Promise<{ groupSeq: number, members: number[] } | undefined> {
  const { gitdir, store, manifest } = ctx
  const members = batchMembers(store, manifest, verifier, best, opts.from)
  if (members.length < 2) return undefined
  const parent = opts.onto?.commit_oid ?? best
  const key = Unformed.key(parent, members)
  if (opts.unformed?.has(key) === true) return undefined
  // A member that conflicts with those before it, or adds nothing, stays queued: it may pass alone.
  const { taken, tree, left } = await mergeInOrder(gitdir, members, parent, 'batch')
  // What git itself failed on is not the members' doing, and is tried again.
  const unformed = (): undefined => { if (!left.some((l) => l.failed === true)) opts.unformed?.add(key) }
  // A tree someone submitted as it is stays theirs; a batch is never needed to change what no member changes.
  if (taken.length < 2 || store.candidateByTree(tree) !== undefined) return unformed()
  const onto = opts.onto === undefined ? '' : ` (on candidate #${opts.onto.seq}, still being verified)`
  const description = `Batch of ${taken.map((m) => `#${m.seq}`).join(', ')}${onto}: ${taken.map((m) => m.description).join('; ')}`.slice(0, 2000)
  const commit = await commitTreeOn(gitdir, tree, parent, description, 'autoresearch-coordinator')
  if (protectedChanges(manifest, await changedPaths(gitdir, parent, commit)).length > 0) return unformed()
  return { groupSeq: storeGroup(ctx, taken, { commit, tree, parent, description }), members: taken.map((m) => m.seq) }
}
