import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { AgentContext, Proposal } from '../src/agents/types.ts'
import { readFileAt } from '@autoresearch/protocol'
import { Lookahead, stillApplies, type Prepare, type Prepared } from '../src/operations/lookahead.ts'
import { propose } from '../src/operations/propose.ts'
import { ResultsLog } from '../src/results.ts'
import { manifestOf, recorder } from './fakes.ts'
import { change, repoWith } from './git-fixture.ts'

/** An agent whose proposals wait until released, and which records what each call saw. */
function heldAgent (): { agent: { name: string, propose: (ctx: AgentContext) => Promise<Proposal | null> }, calls: Array<{ files: Record<string, string>, signal?: AbortSignal }>, release: () => void } {
  const calls: Array<{ files: Record<string, string>, signal?: AbortSignal }> = []
  let open: () => void = () => {}
  let gate = new Promise<void>((resolve) => { open = resolve })
  return {
    calls,
    release: () => { open(); gate = new Promise<void>((resolve) => { open = resolve }) },
    agent: {
      name: 'held',
      propose: async (ctx) => {
        calls.push({ files: ctx.files, signal: ctx.signal })
        await Promise.race([gate, new Promise((resolve) => { if (ctx.signal?.aborted === true) resolve(undefined); ctx.signal?.addEventListener('abort', resolve) })])
        if (ctx.signal?.aborted === true) throw new Error('aborted')
        return { edits: { 'train.py': `${ctx.files['train.py'] ?? ''}# ${calls.length}\n` }, description: `idea ${calls.length}` }
      }
    }
  }
}

describe('the next experiment, made ready while a run is in flight', () => {
  const manifest = manifestOf()
  const info = { manifest, program: '# program' }

  /** The worker's making of an experiment, cut down: the agent's proposal (operations/propose.ts), a claim granted, its commit. */
  function preparing (components: Parameters<typeof propose>[0], root: string, n: number): Prepare {
    return async (signal) => {
      const proposal = await propose(components, { info, commit: root, n }, { signal })
      if (proposal === undefined) return undefined
      return { proposal, claimed: true, commit: await change(components.gitdir, root, proposal.edits, proposal.description) }
    }
  }

  it('applies only on the same best and local best', () => {
    expect(stillApplies({ base: 'b', local: 'l' }, { base: 'b', local: 'l' })).toBe(true)
    expect(stillApplies({ base: 'b', local: 'l' }, { base: 'b', local: 'k' })).toBe(false)
    expect(stillApplies({ base: 'b', local: 'l' }, { base: 'c', local: 'l' })).toBe(false)
  })

  it('is made at once and taken, committed, when the run changed nothing; dropped after a keep, its agent stopped and its claim given back', async () => {
    const { gitdir, root } = await repoWith({ 'train.py': 'LR = 1\n' })
    const results = new ResultsLog(join(gitdir, '..', 'results.tsv'))
    const { agent, calls, release } = heldAgent()
    const { emit, events } = recorder()
    const components = { agent, gitdir, results, emit }
    const given: Prepared[] = []
    const giveBack = async (made: Prepared): Promise<void> => { given.push(made) }
    const ahead = new Lookahead()
    ahead.start({ base: root, local: root }, preparing(components, root, 2), giveBack)
    // The agent is working on the next experiment before the current one has a result.
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(calls).toHaveLength(1)
    release()
    const taken = await ahead.take({ base: root, local: root })
    expect(taken).toMatchObject({ prepared: { proposal: { edits: { 'train.py': 'LR = 1\n# 1\n' }, description: 'idea 1' }, claimed: true } })
    // Its commit is written: the files the experiment runs.
    const made = (taken as { prepared: Prepared }).prepared
    expect(await readFileAt(gitdir, made.commit, 'train.py')).toBe('LR = 1\n# 1\n')
    // Nothing waits to be taken now.
    expect(await ahead.take({ base: root, local: root })).toEqual({ stale: false })

    // Dropped while the agent works: stopped, and nothing was claimed.
    ahead.start({ base: root, local: root }, preparing(components, root, 3), giveBack)
    const kept = await change(gitdir, root, { 'train.py': 'LR = 2\n' })
    expect(await ahead.take({ base: root, local: kept })).toEqual({ stale: true })
    expect(calls[1]?.signal?.aborted).toBe(true)
    expect(given).toEqual([])
    // Dropped once claimed: the claim is given back, without the loop waiting for it; the loop's end does.
    ahead.start({ base: root, local: root }, preparing(components, root, 4), giveBack)
    for (let i = 0; i < 100 && calls.length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    release()
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(await ahead.take({ base: kept, local: kept })).toEqual({ stale: true })
    await ahead.cancel()
    expect(given.map((g) => g.proposal.description)).toEqual(['idea 3'])
    // A stopped agent is not an agent error.
    expect(events).toEqual([])
  })

  it('cancel stops an experiment being made and waits for it', async () => {
    const { gitdir, root } = await repoWith({ 'train.py': 'LR = 1\n' })
    const { agent, calls } = heldAgent()
    const ahead = new Lookahead()
    ahead.start({ base: root, local: root }, preparing({ agent, gitdir, results: new ResultsLog(join(gitdir, '..', 'results.tsv')), emit: () => {} }, root, 2), async () => {})
    // Once the agent is at work (before that, cancel means it never starts).
    for (let i = 0; i < 100 && calls.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    await ahead.cancel()
    expect(calls[0]?.signal?.aborted).toBe(true)
    expect(await ahead.take({ base: root, local: root })).toEqual({ stale: false })
  })

  it('a failure to make it is thrown by the step that takes it, not left unhandled before', async () => {
    const ahead = new Lookahead()
    ahead.start({ base: 'b', local: 'l' }, async () => { throw new Error('disk full') }, async () => {})
    // Long enough for an unhandled rejection to be reported (vitest fails the run on one).
    await new Promise((resolve) => setTimeout(resolve, 20))
    await expect(ahead.take({ base: 'b', local: 'l' })).rejects.toThrow('disk full')
  })
})
