import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { AgentContext, Proposal } from '../src/agents/types.ts'
import { Lookahead, stillApplies } from '../src/operations/lookahead.ts'
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

describe('the next proposal, made while a run is in flight', () => {
  const manifest = manifestOf()
  const info = { manifest, program: '# program' }

  it('applies only on the same best and local best', () => {
    expect(stillApplies({ base: 'b', local: 'l' }, { base: 'b', local: 'l' })).toBe(true)
    expect(stillApplies({ base: 'b', local: 'l' }, { base: 'b', local: 'k' })).toBe(false)
    expect(stillApplies({ base: 'b', local: 'l' }, { base: 'c', local: 'l' })).toBe(false)
  })

  it('is asked for at once and taken when the run changed nothing; dropped, its agent stopped, after a keep', async () => {
    const { gitdir, root } = await repoWith({ 'train.py': 'LR = 1\n' })
    const results = new ResultsLog(join(gitdir, '..', 'results.tsv'))
    const { agent, calls, release } = heldAgent()
    const { emit, events } = recorder()
    const components = { agent, gitdir, results, emit }
    const ahead = new Lookahead()
    ahead.start(components, { info, commit: root, base: root, n: 2 })
    // The agent is working on the next experiment before the current one has a result.
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(calls).toHaveLength(1)
    release()
    expect(await ahead.take({ base: root, local: root })).toMatchObject({ proposal: { edits: { 'train.py': 'LR = 1\n# 1\n' }, description: 'idea 1' } })
    // Nothing waits to be taken now.
    expect(await ahead.take({ base: root, local: root })).toEqual({ stale: false })

    ahead.start(components, { info, commit: root, base: root, n: 3 })
    const kept = await change(gitdir, root, { 'train.py': 'LR = 2\n' })
    expect(await ahead.take({ base: root, local: kept })).toEqual({ stale: true })
    expect(calls[1]?.signal?.aborted).toBe(true)
    // A stopped agent is not an agent error.
    expect(events).toEqual([])
  })

  it('cancel stops a proposal in flight and waits for it', async () => {
    const { gitdir, root } = await repoWith({ 'train.py': 'LR = 1\n' })
    const { agent, calls } = heldAgent()
    const ahead = new Lookahead()
    ahead.start({ agent, gitdir, results: new ResultsLog(join(gitdir, '..', 'results.tsv')), emit: () => {} }, { info, commit: root, base: root, n: 2 })
    // Once the agent is at work (before that, cancel means it never starts).
    for (let i = 0; i < 100 && calls.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    await ahead.cancel()
    expect(calls[0]?.signal?.aborted).toBe(true)
    expect(await ahead.take({ base: root, local: root })).toEqual({ stale: false })
  })
})
