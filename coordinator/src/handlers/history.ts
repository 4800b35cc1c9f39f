import { MAX_DIGEST_CHARS, MAX_HISTORY, MAX_HISTORY_DIFF_CHARS, MAX_OPEN_HYPOTHESES, MAX_PENDING, MAX_TRIED_HASHES, OPEN_STATES, UnknownCommitError, type Handler, type HistoryReply, type HistoryRequest, type PendingCandidate, type SharedExperiment } from '@autoresearch/protocol'
import type { z } from 'zod'
import type { Coordinator } from '../coordinator.ts'
import { hypothesisKey } from '../claims.ts'
import { pickHistory } from '../rules/history.ts'
import { queueOrder } from '../rules/queue-order.ts'
import type { ExperimentRow, HypothesisRow, Store } from '../store/index.ts'

/** How many bests back from the asked one the history reaches. */
export const HISTORY_DEPTH = 3
/** Reports read per best for the selection (the newest). */
const READ_PER_BEST = 500

export type HistoryDeps = Pick<Coordinator, 'manifest'> & { store: Pick<Store, 'views' | 'merges' | 'isMergedCommit' | 'latestExperimentsOn' | 'triedHashes' | 'openHypotheses' | 'latestDigest' | 'candidatesOn'>, claims: Pick<Coordinator['claims'], 'holder'> }

/** `best` and the bests it was built on, newest first, up to `depth` of them. */
export function bestsBack (store: Pick<Store, 'merges'>, best: string, depth: number): string[] {
  const parentOf = new Map<string, string | null>()
  for (const m of store.merges()) if (m.kind !== 'revert') parentOf.set(m.commit_oid, m.parent_oid)
  const chain = [best]
  for (let at = parentOf.get(best); at != null && chain.length < depth && !chain.includes(at); at = parentOf.get(at)) chain.push(at)
  return chain
}

export function sharedExperiment (row: ExperimentRow, bestsBack: number): SharedExperiment {
  return {
    seq: row.seq, best: row.best_oid, bestsBack, worker: row.worker, status: row.status, metric: row.metric, noise: row.noise,
    description: row.description, diff: row.diff.slice(0, MAX_HISTORY_DIFF_CHARS), diffHash: row.diff_hash, nearKey: row.near_key, hypothesis: row.hypothesis, hardware: row.hardware, receivedAt: row.received_at
  }
}

/** What `history` reads from the store; the claims on hypotheses are looked up on each request. */
type StoredHistory = Omit<HistoryReply, 'ok' | 'hypotheses'> & { open: HypothesisRow[] }

function storedHistory (c: HistoryDeps, best: string, limit: number): StoredHistory {
  if (!c.store.isMergedCommit(best)) throw new UnknownCommitError(`${best} was never a best commit here`)
  const levels = bestsBack(c.store, best, HISTORY_DEPTH).map((b) => c.store.latestExperimentsOn(b, READ_PER_BEST))
  const picked = pickHistory(levels, c.manifest.metric.direction, Math.min(limit, MAX_HISTORY))
  return {
    best,
    experiments: picked.map((p) => sharedExperiment(p.row, p.bestsBack)),
    tried: c.store.triedHashes(best, MAX_TRIED_HASHES),
    open: c.store.openHypotheses(MAX_OPEN_HYPOTHESES),
    digest: c.store.latestDigest()?.text.slice(0, MAX_DIGEST_CHARS) ?? null,
    ...(c.manifest.collaboration.buildOnPending ? { pending: pendingOn(c, best) } : {})
  }
}

/** The open candidates on `best` in the order they will be verified (rules/queue-order.ts): what a worker may build on. */
function pendingOn (c: HistoryDeps, best: string): PendingCandidate[] {
  return queueOrder(c.manifest, c.store.candidatesOn(best, [...OPEN_STATES])).slice(0, MAX_PENDING).map((row) => ({
    seq: row.seq, commit: row.commit_oid, submitter: row.submitter, claimedMetric: row.claimed_metric, description: row.description.slice(0, 500)
  }))
}

/** Answers kept (per best and limit) until the database changes: every worker asks every 30 s, and anyone may ask. */
const MEMO_ENTRIES = 16

/**
 * What the network tried on a best and the bests before it, for a worker's agent (a
 * selection), every edit tried on the best, the hypotheses still open and the latest digest.
 * What the store holds is read once per database version (`memo`); whether a hypothesis is
 * claimed is looked up each time, since claims live in memory.
 */
export function history (c: HistoryDeps, best: string, limit = MAX_HISTORY, now = Date.now(), memo?: Map<string, { version: string, stored: StoredHistory }>): Omit<HistoryReply, 'ok'> {
  const key = `${best}:${limit}`
  const version = c.store.views.version()
  let stored = memo?.get(key)?.version === version ? memo?.get(key)?.stored : undefined
  if (stored === undefined) {
    stored = storedHistory(c, best, limit)
    memo?.delete(key)
    memo?.set(key, { version, stored })
    if (memo !== undefined && memo.size > MEMO_ENTRIES) memo.delete(memo.keys().next().value as string)
  }
  const { open, ...rest } = stored
  const hypotheses = open.map((h) => ({ id: h.id, best: h.best_oid, text: h.text, author: h.author, postedAt: h.posted_at, claimed: c.claims.holder(hypothesisKey(h.id), now) !== undefined }))
  return { ...rest, hypotheses }
}

export function historyHandler (c: HistoryDeps): Handler<z.infer<typeof HistoryRequest>> {
  const memo = new Map<string, { version: string, stored: StoredHistory }>()
  return async (req): Promise<HistoryReply> => ({ ok: true, ...history(c, req.best, req.limit, Date.now(), memo) })
}
