import git from 'isomorphic-git'
import { logger } from '@libp2p/logger'
import { gitFs, type Manifest } from '@autoresearch/protocol'
import { authorsOf, membersOf } from '../group-members.ts'
import type { Store } from '../store/index.ts'
import { NOTES_REF, verdictNote } from './verdict-note.ts'

const log = logger('autoresearch:coordinator:notes')

const AUTHOR = { name: 'autoresearch-coordinator', email: 'coordinator@autoresearch.invalid' }

/**
 * Writes the verdict note (verdict-note.ts) of every verified merge whose note is missing
 * or out of date (a revert since): derived from the store, so a crash between a merge and
 * its note only delays the note to the next merge, revert or start. `noted` (merge seq →
 * its reverted_at when its note was last checked) lets a serving coordinator look only at
 * merges that are new or were reverted since, instead of every merge after each merge; it
 * is filled as notes are checked. Returns how many notes it wrote.
 */
export async function writeVerdictNotes (gitdir: string, store: Pick<Store, 'merges' | 'candidate' | 'groupMembers'>, manifest: Pick<Manifest, 'metric' | 'verification'>, noted = new Map<number, number | null>()): Promise<number> {
  const todo = store.merges().filter((m) => m.kind === 'merge' && (!noted.has(m.seq) || noted.get(m.seq) !== m.reverted_at))
  if (todo.length === 0) return 0
  const existing = new Map((await git.listNotes({ fs: gitFs, gitdir, ref: NOTES_REF }).catch(() => [])).map((n) => [n.target, n.note]))
  let written = 0
  for (const merge of todo) {
    const candidate = merge.candidate_seq === null ? undefined : store.candidate(merge.candidate_seq)
    const note = verdictNote({
      merge,
      candidate,
      authors: candidate === undefined ? [] : authorsOf(store, candidate),
      members: candidate === undefined ? [] : membersOf(store, candidate).map((m) => m.seq),
      metric: manifest.metric,
      verification: manifest.verification
    })
    const { oid } = await git.hashBlob({ object: note })
    if (existing.get(merge.commit_oid) !== oid) {
      const at = { ...AUTHOR, timestamp: Math.floor(Date.now() / 1000), timezoneOffset: 0 }
      await git.addNote({ fs: gitFs, gitdir, ref: NOTES_REF, oid: merge.commit_oid, note, force: true, author: at, committer: at })
      written++
    }
    noted.set(merge.seq, merge.reverted_at)
  }
  if (written > 0) log('wrote %d verdict note(s) to %s', written, NOTES_REF)
  return written
}
