import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { commitTree, commitTreeOn, readFileAt } from '@autoresearch/protocol'
import { ResultsLog } from '../src/results.ts'
import { carryOver } from '../src/operations/carry-over.ts'
import { deltaSince } from '../src/operations/delta.ts'
import { fakeTrial, manifestOf, ok } from './fakes.ts'
import { change, repoWith } from './git-fixture.ts'

const manifest = manifestOf({ editable: ['a.py'] })
const A = 'LR = 0.01\n# --\nSTEPS = 10\n# --\nWIDTH = 8\n'

/** A base and a local chain of two kept edits on it, one commit each (as the loop makes them): `second` edits `secondEdit`. */
async function chain (secondEdit: (text: string) => string): Promise<{ gitdir: string, base: string, first: string, second: string, firstText: string, secondText: string }> {
  const { gitdir, root: base } = await repoWith({ 'a.py': A })
  const firstText = A.replace('LR = 0.01', 'LR = 0.1')
  const first = await change(gitdir, base, { 'a.py': firstText }, 'lr up')
  const secondText = secondEdit(firstText)
  const second = await change(gitdir, first, { 'a.py': secondText }, 'wider')
  return { gitdir, base, first, second, firstText, secondText }
}

describe('what was kept since the last submission, on its own', () => {
  it('replays the later edit onto the base without the earlier one, as one commit on the base', async () => {
    const { gitdir, base, first, second } = await chain((t) => t.replace('WIDTH = 8', 'WIDTH = 16'))
    const delta = await deltaSince({ gitdir }, { base, local: second, kept: ['lr up', 'wider'], since: first })
    expect(delta?.description).toBe('wider')
    expect(await readFileAt(gitdir, delta!.commit, 'a.py')).toBe(A.replace('WIDTH = 8', 'WIDTH = 16'))
    const commit = await commitTree(gitdir, delta!.commit)
    expect(commit.parents).toEqual([base])
    expect(commit.tree).toBe(delta!.tree)
  })

  it('is none when the later edit needs the earlier one (same line), nothing was kept since, or the commit is not in the chain', async () => {
    const same = await chain((t) => t.replace('LR = 0.1', 'LR = 0.2'))
    expect(await deltaSince({ gitdir: same.gitdir }, { base: same.base, local: same.second, kept: ['lr up', 'lr up again'], since: same.first })).toBeUndefined()
    const { gitdir, base, first, second } = await chain((t) => t.replace('WIDTH = 8', 'WIDTH = 16'))
    expect(await deltaSince({ gitdir }, { base, local: second, kept: ['lr up', 'wider'], since: second })).toBeUndefined()
    expect(await deltaSince({ gitdir }, { base, local: second, kept: ['lr up', 'wider'], since: base })).toBeUndefined()
    // A chain not made one commit per kept edit (an older state): no delta, the whole chain goes.
    expect(await deltaSince({ gitdir }, { base, local: second, kept: ['lr up and wider'], since: first })).toBeUndefined()
  })
})

describe('what stays submitted when the chain is carried onto a new best', () => {
  const results = (gitdir: string): ResultsLog => new ResultsLog(join(gitdir, '..', 'results.tsv'))

  it('the replayed commit of the last submitted edit; the new best itself when it merged everything submitted', async () => {
    const { gitdir, base, first, second, secondText } = await chain((t) => t.replace('WIDTH = 8', 'WIDTH = 16'))
    const trial = fakeTrial(() => ok(0.5)).trial
    const args = { manifest, seed: 1, local: second, oldBase: base, kept: ['lr up', 'wider'] }
    // Another worker's best changed STEPS: both edits carry, and the first stays submitted.
    const other = await change(gitdir, base, { 'a.py': A.replace('STEPS = 10', 'STEPS = 20') })
    const carried = await carryOver({ gitdir, trial, results: results(gitdir), emit: () => {} }, { ...args, base: { commit: other, metric: 0.8 }, submitted: first })
    expect(carried?.keptSinceBase).toEqual(['lr up', 'wider'])
    const stays = carried!.submittedLocal!
    expect(await readFileAt(gitdir, stays, 'a.py')).toBe(A.replace('LR = 0.01', 'LR = 0.1').replace('STEPS = 10', 'STEPS = 20'))
    expect((await commitTree(gitdir, carried!.local.commit)).parents).toEqual([stays])
    // Our first submission merged while the second (the delta) waits: the carried chain is the delta's, nothing new to send.
    const ours = await change(gitdir, base, { 'a.py': A.replace('LR = 0.01', 'LR = 0.1') })
    const after = await carryOver({ gitdir, trial, results: results(gitdir), emit: () => {} }, { ...args, base: { commit: ours, metric: 0.8 }, submitted: second })
    expect(after?.keptSinceBase).toEqual(['wider'])
    expect(after?.submittedLocal).toBe(after?.local.commit)
    expect(await readFileAt(gitdir, after!.local.commit, 'a.py')).toBe(secondText)
    // Only the first was submitted, and it merged: nothing carried is submitted.
    const fresh = await carryOver({ gitdir, trial, results: results(gitdir), emit: () => {} }, { ...args, base: { commit: ours, metric: 0.8 }, submitted: first })
    expect(fresh?.keptSinceBase).toEqual(['wider'])
    expect(fresh?.submittedLocal).toBeUndefined()
  })
})

describe('a find that needs the earlier one, on top of our own pending candidate', () => {
  /** The chain of two edits of the same line, and the candidate the first one was sent as (described otherwise: another commit with the same files). */
  async function sentThenAgain (): Promise<{ gitdir: string, base: string, first: string, second: string, sent: string }> {
    const { gitdir, base, first, second } = await chain((t) => t.replace('LR = 0.1', 'LR = 0.2'))
    const { tree } = await commitTree(gitdir, first)
    return { gitdir, base, first, second, sent: await commitTreeOn(gitdir, tree, base, 'lr up, sent') }
  }

  it('replays the later edit onto that candidate, as one commit whose parent it is', async () => {
    const { gitdir, base, first, second, sent } = await sentThenAgain()
    expect(await deltaSince({ gitdir }, { base, local: second, kept: ['lr up', 'lr up again'], since: first })).toBeUndefined()
    const stacked = await deltaSince({ gitdir }, { base, local: second, kept: ['lr up', 'lr up again'], since: first, onto: sent })
    expect(stacked?.description).toBe('lr up again')
    const commit = await commitTree(gitdir, stacked!.commit)
    expect(commit.parents).toEqual([sent])
    expect(commit.tree).toBe((await commitTree(gitdir, second)).tree)
  })

  it('after the chain was carried onto a new best, still only adds the later edit to the candidate (not the new best\'s changes)', async () => {
    const { gitdir, base, first, second, sent } = await sentThenAgain()
    // Another worker's WIDTH merged; the chain replayed onto it (the loop's carry-over), the first edit still submitted.
    const other = await change(gitdir, base, { 'a.py': A.replace('WIDTH = 8', 'WIDTH = 32') }, 'wider elsewhere')
    const results = new ResultsLog(join(gitdir, '..', 'results.tsv'))
    const carried = await carryOver({ gitdir, trial: fakeTrial(() => ok(0.1)).trial, results, emit: () => {} }, { manifest, local: second, oldBase: base, base: { commit: other, metric: 1 }, seed: 1, kept: ['lr up', 'lr up again'], submitted: first })
    expect(carried?.submittedLocal).toBeDefined()
    const stacked = await deltaSince({ gitdir }, { base: other, local: carried!.local.commit, kept: carried!.keptSinceBase, since: carried!.submittedLocal!, onto: sent })
    expect((await commitTree(gitdir, stacked!.commit)).parents).toEqual([sent])
    expect(await readFileAt(gitdir, stacked!.commit, 'a.py')).toBe(A.replace('LR = 0.01', 'LR = 0.2'))
  })
})
