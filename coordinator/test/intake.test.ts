import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  commitWithChanges, exportPack, Identity, newNonce, objectsMissing, packForSubmission, readFileAt, sha256Hex, verifySignature,
  type SubmissionBody
} from '@autoresearch/protocol'
import { createHttpApp } from '../src/index.ts'
import { snapshot, startFixture, type Fixture } from './fixture.ts'

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
