/**
 * What must hold after the kill -9 harness (crash.ts) restarts a coordinator: nothing a
 * peer was told is lost, the ref and the database agree, the tallies agree with the rows they
 * count, no half-written file is left, and after the drain no candidate or job is left open.
 */
import * as fs from 'node:fs'
import git from 'isomorphic-git'
import { assertCompleteTree, gitFs, PARTIAL_SUFFIX, type ReceiptBody } from '@autoresearch/protocol'
import { BEST_REF, homePaths, Store } from 'autoresearch-coordinator'

/** What the peers were told, across all iterations: each of these must survive every crash. */
export interface Acknowledged {
  receipts: ReceiptBody[]
  attestedJobs: number[]
  mergedCandidates: number[]
}

/** The coordinator's database, opened read-only from this process while the coordinator runs in another. */
export function readStore (home: string): Store {
  return new Store(homePaths(home).database, { readonly: true })
}

/**
 * Receipts, attestations and merges that were answered are all there; refs and database agree;
 * no file the killed process left half-written (before `restartedAt`) is still there.
 */
export async function checkAfterRestart (home: string, acked: Acknowledged, refBefore: string, restartedAt: number): Promise<{ violations: string[], refRepaired: boolean }> {
  const violations: string[] = []
  const { gitdir } = homePaths(home)
  const db = readStore(home)
  try {
    for (const r of acked.receipts) {
      const row = db.candidate(r.candidateSeq)
      if (row === undefined) violations.push(`receipt #${r.candidateSeq} was lost`)
      else if (row.commit_oid !== r.candidate || row.tree_oid !== r.tree || row.submitter !== r.submitter) violations.push(`receipt #${r.candidateSeq} names other objects than the database`)
      else await assertCompleteTree(gitdir, r.candidate, 1 << 24).catch((err: Error) => { violations.push(`candidate #${r.candidateSeq}'s objects are unreadable: ${err.message}`) })
    }
    const attested = new Set(db.dump('attestations').map((a) => a.job_id))
    for (const id of acked.attestedJobs) {
      if (!attested.has(id)) violations.push(`answered attestation for job ${id} was lost`)
    }
    const rows = db.merges()
    for (const seq of acked.mergedCandidates) {
      if (!rows.some((m) => m.candidate_seq === seq && m.kind === 'merge')) violations.push(`answered merge of candidate #${seq} was lost`)
    }
    // A merge group is all or nothing: a merged one has its merge row and every member carried into it.
    for (const group of db.candidates().filter((c) => db.groupMembers(c.seq).length > 0)) {
      const members = db.groupMembers(group.seq)
      if (members.length < 2) violations.push(`merge group #${group.seq} has ${members.length} member(s)`)
      if (group.state !== 'merged') continue
      if (!rows.some((m) => m.candidate_seq === group.seq)) violations.push(`merge group #${group.seq} is merged without a merge row`)
      for (const m of members) if (m.state !== 'rebased') violations.push(`member #${m.seq} of merged group #${group.seq} is ${m.state}`)
    }
    violations.push(...talliesDisagree(db))
    const merges = rows.map((m) => m.commit_oid)
    const best = merges[merges.length - 1] as string
    const refNow = await git.resolveRef({ fs: gitFs, gitdir, ref: BEST_REF })
    if (refNow !== best) violations.push(`after restart the best ref is ${refNow}, the database says ${best}`)
    // Before the restart the ref may lag the database by the merge in flight, never lead it.
    if (!merges.slice(-2).includes(refBefore)) violations.push(`before restart the best ref was ${refBefore}, not one of the last two merges`)
    await assertCompleteTree(gitdir, best, 1 << 24).catch((err: Error) => { violations.push(`the best commit is unreadable: ${err.message}`) })
  } finally {
    db.close()
  }
  violations.push(...leftovers(gitdir, restartedAt))
  return { violations, refRepaired: refBefore !== await git.resolveRef({ fs: gitFs, gitdir, ref: BEST_REF }) }
}

/**
 * The tallies the site reads (kept by triggers in the writes' own transactions, migrations.ts)
 * against the rows they count: submissions per submitter and state, runs per verifier. Both are
 * read in one snapshot: the restarted coordinator is serving (its lease timers requeue what the
 * kill left leased), and a write between two separate reads would show as a disagreement.
 */
function talliesDisagree (db: Store): string[] {
  const { kept, counted } = db.talliesKeptAndCounted()
  const out: string[] = []
  for (const key of new Set([...counted.states.keys(), ...kept.states.keys()])) {
    const want = JSON.stringify(Object.entries(counted.states.get(key) ?? {}).sort())
    const got = JSON.stringify(Object.entries(kept.states.get(key) ?? {}).sort())
    if (want !== got) out.push(`submissions of ${key.slice(0, 16)}… tallied as ${got}, the rows say ${want}`)
  }
  for (const key of new Set([...counted.runs.keys(), ...kept.runs.keys()])) {
    if (counted.runs.get(key) !== kept.runs.get(key)) out.push(`runs of verifier ${key.slice(0, 16)}… tallied as ${kept.runs.get(key) ?? 0}, the rows say ${counted.runs.get(key) ?? 0}`)
  }
  return out
}

/** Candidates and jobs still open after the drain: each is a violation. */
export function unfinishedWork (home: string): string[] {
  const db = readStore(home)
  try {
    const open = db.candidates().filter((c) => c.state === 'queued' || c.state === 'verifying' || c.state === 'passed')
    const jobs = db.dump('jobs').filter((j) => j.state !== 'done' && j.state !== 'expired')
    return [
      ...open.map((c) => `candidate #${c.seq} is still ${c.state} after the drain`),
      ...jobs.map((j) => `job ${j.id} is still ${j.state} after the drain`)
    ]
  } finally {
    db.close()
  }
}

/**
 * Files a kill may leave half-written, which start-up must have removed: those last written
 * before the restart. The restarted coordinator is serving meanwhile (a resent submission, its
 * first carry turn), so a temporary file it is writing now is not one the kill left.
 */
function leftovers (gitdir: string, restartedAt: number): string[] {
  const before = (f: string): boolean => {
    try {
      return fs.statSync(`${gitdir}/${f}`).mtimeMs < restartedAt
    } catch {
      return false // renamed into place or removed since it was listed: not left behind
    }
  }
  return (fs.readdirSync(gitdir, { recursive: true }) as string[]).filter((f) => f.endsWith(PARTIAL_SUFFIX) && before(f)).map((f) => `half-written file ${f} left behind`)
}
