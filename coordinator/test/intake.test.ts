import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  commitWithChanges, exportPack, Identity, newNonce, objectsMissing, packForSubmission, readFileAt, sha256Hex, verifySignature,
  type SubmissionBody
} from '@autoresearch/protocol'
import { createHttpApp } from '../src/index.ts'
import { snapshot, startFixture, type Fixture } from './fixture.ts'

const EDITABLE_DIR = resolve(import.meta.dirname, '..', '..', 'tests', 'fixtures', 'editable-dir')

describe('intake over libp2p', () => {
  let f: Fixture
  beforeAll(async () => { f = await startFixture() })
  afterAll(async () => { await f.stop() })

  async function candidate (path: string, transform: (s: string) => string, parent = f.best): Promise<{ commit: string, pack: Uint8Array }> {
    const text = await readFileAt(f.gitdir, parent, path) as string
    const commit = await commitWithChanges(f.gitdir, parent, { [path]: transform(text) }, `edit ${path}`)
    return { commit, pack: await packForSubmission(f.gitdir, commit, parent) }
  }

  function body (commit: string, pack: Uint8Array, identity = f.identity, parent = f.best): SubmissionBody {
    return {
      type: 'submission', causeId: f.running.coordinator.causeId, parent, candidate: commit, packSha256: sha256Hex(pack),
      claimedMetric: 0.1, logDigest: sha256Hex('log'), description: 'test', publicKey: identity.publicKey, nonce: newNonce(), time: Date.now()
    }
  }

  it('gives a signed receipt for a valid submission, and refuses its replay', async () => {
    const { commit, pack } = await candidate('train.py', (s) => s + '\n# a harmless edit\n')
    const b = body(commit, pack)
    const signature = f.identity.sign('submission', b)
    const reply = await f.client.submitSigned(b, signature, pack)
    expect(reply.receipt.candidate).toBe(commit)
    expect(reply.receipt.candidateSeq).toBe(1)
    expect(verifySignature('receipt', reply.receipt, reply.signature, f.running.coordinator.identity.publicKey)).toBe(true)

    const before = await snapshot(f.running)
    await expect(f.client.submitSigned(b, signature, pack)).rejects.toMatchObject({ name: 'ReplayedNonceError' })
    expect(await snapshot(f.running)).toEqual(before)
  })

  it('refuses a bad signature and changes nothing', async () => {
    const { commit, pack } = await candidate('train.py', (s) => s + '\n# another edit\n')
    const b = body(commit, pack)
    const forged = Identity.generate().sign('submission', b)
    const before = await snapshot(f.running)
    await expect(f.client.submitSigned(b, forged, pack)).rejects.toMatchObject({ name: 'InvalidSignatureError' })
    expect(await snapshot(f.running)).toEqual(before)
  })

  it('refuses a commit that changes evaluate.py and changes nothing', async () => {
    const { commit, pack } = await candidate('evaluate.py', (s) => s.replace(/mse/g, 'mse * 0'))
    const before = await snapshot(f.running)
    await expect(f.client.submit(f.identity, { causeId: f.running.coordinator.causeId, parent: f.best, candidate: commit, claimedMetric: 0, logDigest: sha256Hex(''), description: 'cheat' }, pack))
      .rejects.toMatchObject({ name: 'ProtectedPathError', message: expect.stringContaining('evaluate.py') })
    expect(await snapshot(f.running)).toEqual(before)
  })

  it('refuses an unknown parent and changes nothing', async () => {
    const { commit: unpublished } = await candidate('train.py', (s) => s + '\n# never published\n')
    const { commit } = await candidate('train.py', (s) => s + '\n# child of an unpublished commit\n', unpublished)
    const pack = await exportPack(f.gitdir, await objectsMissing(f.gitdir, commit, [f.best]))
    const before = await snapshot(f.running)
    await expect(f.client.submit(f.identity, { causeId: f.running.coordinator.causeId, parent: unpublished, candidate: commit, claimedMetric: 0, logDigest: sha256Hex(''), description: 'orphan' }, pack))
      .rejects.toMatchObject({ name: 'UnknownParentError' })
    expect(await snapshot(f.running)).toEqual(before)
  })

  it('refuses a corrupted pack and changes nothing', async () => {
    const { commit, pack } = await candidate('train.py', (s) => s + '\n# corrupted in transit\n')
    const corrupted = Uint8Array.from(pack)
    corrupted[30] = (corrupted[30] as number) ^ 0x5a
    const before = await snapshot(f.running)
    await expect(f.client.submit(f.identity, { causeId: f.running.coordinator.causeId, parent: f.best, candidate: commit, claimedMetric: 0, logDigest: sha256Hex(''), description: 'x' }, corrupted))
      .rejects.toMatchObject({ name: 'CorruptPackError' })
    expect(await snapshot(f.running)).toEqual(before)
  })

  it('refuses a tree someone already submitted', async () => {
    const other = Identity.generate()
    const first = f.running.coordinator.store.candidate(1)
    expect(first).toBeDefined()
    const { commitTreeOn } = await import('@autoresearch/protocol')
    const copy = await commitTreeOn(f.gitdir, first!.tree_oid, f.best, 'plagiarised')
    const pack = await packForSubmission(f.gitdir, copy, f.best)
    const before = await snapshot(f.running)
    await expect(f.client.submit(other, { causeId: f.running.coordinator.causeId, parent: f.best, candidate: copy, claimedMetric: 0, logDigest: sha256Hex(''), description: 'mine' }, pack))
      .rejects.toMatchObject({ name: 'DuplicateTreeError' })
    expect(await snapshot(f.running)).toEqual(before)
  })

  it('publishes merged commits but not pending candidates to a non-verifier', async () => {
    const first = f.running.coordinator.store.candidate(1)!
    await expect(f.client.fetchPack(first.commit_oid, [])).rejects.toMatchObject({ name: 'UnknownCommitError' })
    const full = await f.client.fetchPack(f.best, [])
    expect(full.objects).toBeGreaterThan(5)
    expect((await f.client.fetchPack(f.best, [f.best])).objects).toBe(0)
  })

  it('serves /api/status', async () => {
    const res = await createHttpApp(f.running.coordinator).request('/api/status')
    expect(res.status).toBe(200)
    const status = await res.json() as Record<string, any>
    expect(status.cause).toBe('toy-regression')
    expect(status.best.commit).toBe(f.best)
    expect(status.merges).toBe(0)
    expect(status.candidates.queued).toBe(1)
    expect(status.multiaddrs[0]).toContain('/ip4/127.0.0.1/tcp/')
    expect((await createHttpApp(f.running.coordinator).request('/api/nope')).status).toBe(404)
  })
})

describe('intake of a cause whose editable entry is a directory ("src/")', () => {
  let f: Fixture
  beforeAll(async () => { f = await startFixture({ cause: EDITABLE_DIR }) })
  afterAll(async () => { await f.stop() })

  /** Submits `changes` (path → content, null deletes) on the best. */
  async function submitChanges (changes: Record<string, string | null>, description: string): Promise<number> {
    const commit = await commitWithChanges(f.gitdir, f.best, changes, description)
    const pack = await packForSubmission(f.gitdir, commit, f.best)
    const { receipt } = await f.client.submit(f.identity, { causeId: f.running.coordinator.causeId, parent: f.best, candidate: commit, claimedMetric: 0.7, logDigest: sha256Hex(''), description }, pack)
    return receipt.candidateSeq
  }

  async function refused (changes: Record<string, string | null>, description: string, names: string[]): Promise<void> {
    const before = await snapshot(f.running)
    const err = await submitChanges(changes, description).then(() => undefined, (e: Error) => e)
    expect(err).toMatchObject({ name: 'ProtectedPathError', message: expect.stringContaining('only src/ may change') })
    for (const name of names) expect(err?.message).toContain(name)
    expect(await snapshot(f.running)).toEqual(before)
  }

  it('accepts a change that adds a new file under src/ and edits one there', async () => {
    const train = await readFileAt(f.gitdir, f.best, 'src/train.py') as string
    const seq = await submitChanges({ 'src/boost.py': 'GAIN = 0.3\n', 'src/train.py': train.replace('model.loss()', 'model.loss() - __import__("boost").GAIN') }, 'a new module')
    expect(f.running.coordinator.store.candidate(seq)?.state).toBe('queued')
  })

  it('accepts a rename inside src/ and a new file in a new directory below it', async () => {
    const noise = await readFileAt(f.gitdir, f.best, 'src/noise.py') as string
    await submitChanges({ 'src/noise.py': null, 'src/noise_model.py': noise, 'src/extra/helpers.py': 'X = 1\n' }, 'renamed inside')
  })

  it('refuses a new file outside src/, and changes nothing', async () => {
    await refused({ 'helpers.py': 'X = 1\n' }, 'outside', ['helpers.py (added)'])
    await refused({ 'src/ok.py': 'X = 1\n', 'evaluate.py': 'print("cheat")\n' }, 'one inside, one outside', ['evaluate.py (modified)'])
  })

  it('refuses a rename out of src/ and a rename into it (either side is a protected path)', async () => {
    const model = await readFileAt(f.gitdir, f.best, 'src/model.py') as string
    await refused({ 'src/model.py': null, 'model.py': model }, 'renamed out', ['model.py (added)'])
    const prepare = await readFileAt(f.gitdir, f.best, 'prepare.py') as string
    await refused({ 'prepare.py': null, 'src/prepare.py': prepare }, 'renamed in', ['prepare.py (deleted)'])
  })
})
