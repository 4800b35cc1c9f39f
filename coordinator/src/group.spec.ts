import * as fs from 'node:fs'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import git from 'isomorphic-git'
import { describe, expect, it } from 'vitest'
import { commitTreeOn, commitWithChanges, ensureBareRepo, readFileAt, writeNestedTree } from '@autoresearch/protocol'
import { leftOutReason, mergeInOrder } from './group.ts'
import type { CandidateRow } from './store/index.ts'

const LINES = ['A = 1', 'B = 2', 'C = 3', 'D = 4', 'E = 5'].join('\n')

async function repo (): Promise<{ gitdir: string, root: string }> {
  const gitdir = join(mkdtempSync(join(tmpdir(), 'ar-group-')), 'repo.git')
  await ensureBareRepo(gitdir)
  const blob = await git.writeBlob({ fs, gitdir, blob: new TextEncoder().encode(LINES) })
  const tree = await writeNestedTree(gitdir, new Map([['train.py', { oid: blob, mode: '100644' }]]))
  const who = { name: 't', email: 't@example.invalid', timestamp: 0, timezoneOffset: 0 }
  const root = await git.writeCommit({ fs, gitdir, commit: { tree, parent: [], author: who, committer: who, message: 'root\n' } })
  return { gitdir, root }
}

const row = (seq: number, commit: string, parent: string): CandidateRow => ({ seq, commit_oid: commit, parent_oid: parent }) as CandidateRow

describe('mergeInOrder', () => {
  it('takes members that merge, leaves a conflicting one out as a conflict and one git cannot read as failed', async () => {
    const { gitdir, root } = await repo()
    const edit = async (from: string, to: string): Promise<string> => commitWithChanges(gitdir, root, { 'train.py': LINES.replace(from, to) }, to)
    const members = [
      row(1, await edit('A = 1', 'A = 10'), root),
      row(2, await edit('E = 5', 'E = 50'), root),
      row(3, await edit('A = 1', 'A = 11'), root),
      row(4, 'f'.repeat(40), root)
    ]
    const { taken, tree, left } = await mergeInOrder(gitdir, members, root, 'test')
    expect(taken.map((m) => m.seq)).toEqual([1, 2])
    expect(left.map((l) => [l.member.seq, l.failed === true])).toEqual([[3, false], [4, true]])
    expect(left[0]?.conflicts?.length).toBeGreaterThan(0)
    expect(await readFileAt(gitdir, await commitTreeOn(gitdir, tree, root, 'merged'), 'train.py')).toBe(LINES.replace('A = 1', 'A = 10').replace('E = 5', 'E = 50'))
  })

  it('says why a member went stale, naming the members before it only when there are any', () => {
    const best = 'b'.repeat(40)
    expect(leftOutReason(best, ['train.py'], [])).toBe('its change conflicts with the new best bbbbbbbbbb in train.py; start from the new best')
    expect(leftOutReason(best, ['train.py'], [{ seq: 3 }, { seq: 5 }])).toBe('its change conflicts with the new best bbbbbbbbbb or with the candidates grouped before it (#3, #5) in train.py; start from the new best')
    expect(leftOutReason(best, [], [])).toBe('its change conflicts with the new best bbbbbbbbbb in its files; start from the new best')
    expect(leftOutReason(best, null, [])).toBe('the new best already contains its change')
    expect(leftOutReason(best, null, [{ seq: 3 }])).toBe('the new best, with the candidates grouped before it (#3), already contains its change')
  })
})
