import { describe, expect, it } from 'vitest'
import { commitTree, readFileAt } from '@autoresearch/protocol'
import { stackOn } from '../src/operations/stack.ts'
import { squash } from '../src/operations/submission.ts'
import { change, repoWith } from './git-fixture.ts'

const A = 'LR = 0.01\n# --\nSTEPS = 10\n'

/** A base, a local chain of two kept edits of the same line, and the candidate the first one was sent as. */
async function sentThenAgain (): Promise<{ gitdir: string, base: string, first: string, second: string, sent: string }> {
  const { gitdir, root: base } = await repoWith({ 'a.py': A })
  const first = await change(gitdir, base, { 'a.py': A.replace('LR = 0.01', 'LR = 0.1') }, 'lr up')
  const second = await change(gitdir, first, { 'a.py': A.replace('LR = 0.01', 'LR = 0.2') }, 'lr up again')
  // Described otherwise than the local commit, as a squash of several edits is: another commit with the same files.
  const { commit: sent } = await squash({ gitdir }, first, base, ['lr up, sent'])
  return { gitdir, base, first, second, sent }
}

describe('a later find sent on top of our own pending candidate', () => {
  it('is the local best\'s files on that candidate, described by what was kept since it', async () => {
    const { gitdir, base, first, second, sent } = await sentThenAgain()
    const stacked = await stackOn({ gitdir }, { base, local: second, kept: ['lr up', 'lr up again'], since: first, parent: sent })
    expect(stacked?.description).toBe('lr up again')
    const commit = await commitTree(gitdir, stacked!.commit)
    expect(commit.parents).toEqual([sent])
    expect(commit.tree).toBe((await commitTree(gitdir, second)).tree)
    expect(await readFileAt(gitdir, stacked!.commit, 'a.py')).toBe(A.replace('LR = 0.01', 'LR = 0.2'))
  })

  it('is none when nothing was kept since, or the submitted commit is not in the chain', async () => {
    const { gitdir, base, first, second, sent } = await sentThenAgain()
    expect(await stackOn({ gitdir }, { base, local: second, kept: ['lr up', 'lr up again'], since: second, parent: sent })).toBeUndefined()
    expect(await stackOn({ gitdir }, { base, local: second, kept: ['lr up', 'lr up again'], since: sent, parent: sent })).toBeUndefined()
    // A chain not made one commit per kept edit (an older state): the whole chain goes on the best.
    expect(await stackOn({ gitdir }, { base, local: second, kept: ['both'], since: first, parent: sent })).toBeUndefined()
  })
})
