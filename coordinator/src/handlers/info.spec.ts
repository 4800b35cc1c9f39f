import { Identity, parseManifest } from '@autoresearch/protocol'
import { describe, expect, it } from 'vitest'
import type { MergeRow } from '../store/index.ts'
import { infoHandler, wireBest } from './info.ts'

const merge = { seq: 3, index: 2, commit_oid: 'c'.repeat(40), metric: 0.5 } as MergeRow

describe('info', () => {
  it('names the best by its wire index, not its row key', () => {
    expect(wireBest(merge)).toEqual({ commit: 'c'.repeat(40), metric: 0.5, seq: 2 })
  })

  it('answers the cause, the coordinator key and the best', async () => {
    const identity = Identity.generate()
    const manifest = parseManifest({ name: 'toy', editable: ['train.py'], train: { command: ['python', 'train.py'] }, metric: { name: 'loss', direction: 'minimize', stdoutPattern: 'loss=(\\S+)' }, verification: { minImprovement: 0.1 } })
    const runs = [{ seed: 7, metric: 0.5, hardware: 'cpu' }]
    const handler = infoHandler({ causeId: 'cause', identity, manifest, currentProgram: async () => '# program', bestMerge: () => merge, bestRuns: { runs: () => runs } })
    expect(await handler({ type: 'info' }, undefined as never)).toEqual({
      ok: true, causeId: 'cause', coordinatorKey: identity.publicKey, manifest, program: '# program', best: { commit: 'c'.repeat(40), metric: 0.5, seq: 2 }, bestRuns: runs
    })
  })
})
