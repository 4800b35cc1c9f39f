import { spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { commitTree, commitWithChanges, ensureBareRepo, flattenTree, Identity, packForSubmission, readFileAt, sha256Hex } from '@autoresearch/protocol'
import { TestNetwork } from './network.ts'
import { ROOT } from './processes.ts'

/** A cause whose editable entry is a directory: `"editable": ["src/"]`, several modules in it, prepare and evaluate outside. */
const EDITABLE_DIR = join(ROOT, 'tests', 'fixtures', 'editable-dir')
const coordinator = (args: string[]) => spawnSync(process.execPath, [resolve(ROOT, 'coordinator/bin/autoresearch-coordinator.js'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 })

describe('a cause with an editable directory ("src/")', () => {
  it('passes autoresearch-coordinator check and init', () => {
    const check = coordinator(['check', EDITABLE_DIR, '--trials', '2', '--json'])
    expect(check.status, check.stderr).toBe(0)
    expect(JSON.parse(check.stdout)).toMatchObject({ ok: true, cause: 'editable-dir', metricSource: 'evaluator', trials: [{ ok: true }, { ok: true }] })
    const init = coordinator(['init', '--home', join(mkdtempSync(join(tmpdir(), 'ar-editable-')), 'home'), '--from', EDITABLE_DIR])
    expect(init.status, init.stderr).toBe(0)
    expect(init.stdout).toMatch(/initialised editable-dir\/[0-9a-f]{12}/)
  })

  describe('over real libp2p', () => {
    let net: TestNetwork
    beforeAll(async () => { net = await TestNetwork.start(EDITABLE_DIR) })
    afterAll(async () => { await net.stop() })

    it('a candidate that adds a module under src/, which train uses, is submitted, verified and merged', async () => {
      const identity = Identity.generate()
      const client = await net.client(identity)
      const gitdir = join(net.scratch, 'submitter.git')
      await ensureBareRepo(gitdir)
      const parent = net.best
      await client.sync(gitdir, parent, [])
      const train = await readFileAt(gitdir, parent, 'src/train.py') as string
      const commit = await commitWithChanges(gitdir, parent, {
        'src/boost.py': '"""A new module: what the better model gains."""\nGAIN = 0.3\n',
        'src/train.py': train.replace('import noise\n', 'import noise\nfrom boost import GAIN\n').replace('model.loss() +', 'model.loss() - GAIN +')
      }, 'a new module under src/')
      const { receipt } = await client.submit(identity, {
        causeId: net.running.coordinator.causeId, parent, candidate: commit, claimedMetric: 0.7, logDigest: sha256Hex(''), description: 'boost from a new module'
      }, await packForSubmission(gitdir, commit, parent))

      expect(await net.verifyAll()).toBeGreaterThanOrEqual(1)
      expect(net.state(receipt.candidateSeq)).toBe('merged')
      expect(net.best).toBe(commit)
      const { gitdir: home } = net.running.coordinator.paths
      const merged = [...(await flattenTree(home, (await commitTree(home, net.best)).tree)).keys()]
      expect(merged).toEqual(expect.arrayContaining(['src/boost.py', 'src/train.py', 'src/model.py', 'src/noise.py', 'prepare.py', 'evaluate.py']))
    })
  })
})
