import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeTreeTo } from '@autoresearch/protocol'
import { commandAgent } from '../src/agents/command.ts'
import type { Agent } from '../src/agents/types.ts'
import { editableFiles } from '../src/operations/editable-files.ts'
import { propose } from '../src/operations/propose.ts'
import { ResultsLog } from '../src/results.ts'
import { manifestOf, recorder } from './fakes.ts'
import { repoWith } from './git-fixture.ts'

const CAUSE = { 'train.py': 'import src.model\n', 'src/model.py': 'WIDTH = 8\n', 'src/layers/attn.py': 'HEADS = 2\n', 'evaluate.py': 'print(1)\n', 'prepare.py': 'pass\n' }

describe('editable directories in the worker', () => {
  it('hands the agent every file under a directory entry, and each file entry (empty when missing)', async () => {
    const { gitdir, root } = await repoWith(CAUSE)
    expect(await editableFiles(gitdir, { editable: ['notes.md', 'src/', 'train.py'] }, root)).toEqual({
      'notes.md': '', 'train.py': 'import src.model\n', 'src/layers/attn.py': 'HEADS = 2\n', 'src/model.py': 'WIDTH = 8\n'
    })
  })

  it('keeps the proposed edits under the directory, new files included, and drops the others', async () => {
    const { gitdir, root } = await repoWith(CAUSE)
    let seen: Record<string, string> = {}
    const agent: Agent = {
      name: 'fake',
      async propose (ctx) {
        seen = ctx.files
        return { edits: { 'src/model.py': 'WIDTH = 16\n', 'src/new/helper.py': 'X = 1\n', 'evaluate.py': 'print(0)\n', 'srcx.py': '' }, description: 'wider' }
      }
    }
    const { emit } = recorder()
    const manifest = manifestOf({ editable: ['src/'] })
    const results = new ResultsLog(join(gitdir, '..', 'results.tsv'))
    const proposal = await propose({ agent, gitdir, results, emit }, { info: { manifest, program: '' }, commit: root, n: 1 })
    expect(Object.keys(seen).sort()).toEqual(['src/layers/attn.py', 'src/model.py'])
    expect(proposal).toMatchObject({ edits: { 'src/model.py': 'WIDTH = 16\n', 'src/new/helper.py': 'X = 1\n' }, description: 'wider' })
    expect(Object.keys(proposal?.edits ?? {}).sort()).toEqual(['src/model.py', 'src/new/helper.py'])
  })

  it('reports an agent that throws as one failed experiment, and an empty proposal as none', async () => {
    const { gitdir, root } = await repoWith(CAUSE)
    const results = new ResultsLog(join(gitdir, '..', 'results.tsv'))
    const info = { manifest: manifestOf(), program: '' }
    const { emit, events } = recorder()
    const broken: Agent = { name: 'broken', propose: async () => { throw new TypeError('no answer') } }
    expect(await propose({ agent: broken, gitdir, results, emit }, { info, commit: root, n: 2 })).toBeUndefined()
    const idle: Agent = { name: 'idle', propose: async () => null }
    expect(await propose({ agent: idle, gitdir, results, emit }, { info, commit: root, n: 3 })).toBeUndefined()
    expect(events).toEqual([{ type: 'agent-error', n: 2, error: 'TypeError', message: 'no answer' }, { type: 'no-proposal', n: 3 }])
  })

  it('the command agent keeps a new file under an editable directory and drops one outside it', async () => {
    const { gitdir, root } = await repoWith(CAUSE)
    const script = join(mkdtempSync(join(tmpdir(), 'ar-cmd-')), 'agent.sh')
    writeFileSync(script, '#!/bin/sh\nmkdir -p src/extra\necho "SCALE = 2" > src/extra/scale.py\necho "WIDTH = 32" > src/model.py\necho "x" > outside.py\necho "# pwned" >> evaluate.py\necho "DESCRIPTION: add a scale module"\n')
    chmodSync(script, 0o755)
    const reverted: string[][] = []
    const agent = commandAgent({ command: script, sandbox: 'none', warn: () => {}, onReverted: (p) => reverted.push(p) })
    const proposal = await agent.propose({
      manifest: manifestOf({ editable: ['train.py', 'src/'] }), program: 'improve it', files: await editableFiles(gitdir, { editable: ['train.py', 'src/'] }, root), recent: [],
      checkout: async (dir) => { await writeTreeTo(gitdir, root, dir) }
    })
    expect(proposal).toEqual({ edits: { 'src/extra/scale.py': 'SCALE = 2\n', 'src/model.py': 'WIDTH = 32\n' }, description: 'add a scale module' })
    expect(reverted).toEqual([['evaluate.py', 'outside.py']])
  })
})
