/**
 * The `carried` path of intake (coordinator/src/rules/same-tree.ts): a submission that went
 * stale may be sent again by its owner, with the same files, on another parent. Nobody else
 * can use it to take the files, the owner cannot use it to be verified twice on one parent,
 * and what it stores is one copy of the stale candidate. Real coordinator, libp2p, git and a
 * sandboxed verifier on the noisy cause.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { commitTreeOn, Identity, packForSubmission, sha256Hex, type ReceiptBody } from '@autoresearch/protocol'
import { setConstant, TestNetwork } from '../network.ts'
import { NOISY, snapshot } from './arena.ts'

describe('a stale submission sent again (the carried path)', () => {
  let net: TestNetwork
  const alice = Identity.generate()
  const mallory = Identity.generate()
  let oldBest: string
  let newBest: string
  let stale: { seq: number, tree: string }
  const aliceRepo = (): string => join(net.scratch, `repo-${alice.publicKey.slice(0, 8)}.git`)

  /** Sends `tree` on `parent` from `who`, as a commit of its own, packed from alice's repository (which holds every object). */
  const sendTree = async (who: Identity, tree: string, parent: string): Promise<ReceiptBody> => {
    const client = await net.client(who)
    const commit = await commitTreeOn(aliceRepo(), tree, parent, `sent by ${who.publicKey.slice(0, 8)}`)
    const { receipt } = await client.submit(who, {
      causeId: net.running.coordinator.causeId, parent, candidate: commit, claimedMetric: 1.0, logDigest: sha256Hex(''), description: 'the same files again'
    }, await packForSubmission(aliceRepo(), commit, parent))
    return receipt
  }

  const refusal = async (action: () => Promise<unknown>): Promise<Error> => {
    const before = await snapshot(net.running)
    const err = await action().then(() => new Error('accepted'), (e: unknown) => e as Error)
    expect(await snapshot(net.running)).toEqual(before)
    return err
  }

  beforeAll(async () => {
    net = await TestNetwork.start(NOISY)
    oldBest = net.best
    // Bob's QUALITY 0.5 merges; alice's QUALITY 0.25, sent on the old best, conflicts with it when carried.
    const bob = await net.submitEdit(Identity.generate(), setConstant('QUALITY', 0.5))
    await net.verifyAll()
    expect(net.state(bob)).toBe('merged')
    newBest = net.best
    const seq = await net.submitEdit(alice, setConstant('QUALITY', 0.25), { parent: oldBest, claimedMetric: 0.8 })
    await net.verifyAll()
    expect(net.state(seq)).toBe('stale')
    const row = net.running.coordinator.store.candidate(seq)
    stale = { seq, tree: row?.tree_oid as string }
    // Alice's repository gets the new best's objects, to build commits on it.
    await (await net.client(alice)).sync(aliceRepo(), newBest, [])
  }, 120_000)
  afterAll(async () => { await net?.stop() })

  it('refuses another identity sending the stale files on the new best, storing nothing', async () => {
    const err = await refusal(async () => sendTree(mallory, stale.tree, newBest))
    expect(err.name).toBe('DuplicateTreeError')
    expect(err.message).toContain(`#${stale.seq}`)
  })

  it('answers the owner sending them again on the same old parent with the original receipt, storing nothing', async () => {
    const before = await snapshot(net.running)
    const receipt = await sendTree(alice, stale.tree, oldBest)
    expect(receipt).toMatchObject({ candidateSeq: stale.seq, tree: stale.tree, submitter: alice.publicKey })
    expect(await snapshot(net.running)).toEqual(before)
    expect(net.state(stale.seq)).toBe('stale')
  })

  it('takes them from the owner on the new best as one copy of the stale candidate, then answers a repeat with that receipt', async () => {
    const receipt = await sendTree(alice, stale.tree, newBest)
    expect(receipt.candidateSeq).not.toBe(stale.seq)
    const store = net.running.coordinator.store
    expect(store.candidate(receipt.candidateSeq)).toMatchObject({ origin_seq: stale.seq, parent_oid: newBest, tree_oid: stale.tree, submitter: alice.publicKey, state: 'queued' })
    expect(store.candidate(stale.seq)?.state).toBe('rebased')

    // The lineage is live again: neither the owner nor anyone else gets a second copy.
    const count = store.candidates().length
    const repeat = await sendTree(alice, stale.tree, newBest)
    expect(repeat.candidateSeq).toBe(stale.seq)
    expect((await refusal(async () => sendTree(mallory, stale.tree, newBest))).name).toBe('DuplicateTreeError')
    expect(store.candidates()).toHaveLength(count)
  })

  it("tells an owner whose files are the coordinator's rebase of its own candidate which one that is, and anyone else whose they are", async () => {
    // Carol's SALT 7, sent on the old best, carries cleanly onto the new one when the next lease looks.
    const carol = Identity.generate()
    const seq = await net.submitEdit(carol, setConstant('SALT', 7), { parent: oldBest })
    const { causeId } = net.running.coordinator
    await (await net.client(net.verifierIdentity)).lease(net.verifierIdentity, causeId, { class: 'test', cpus: 1, gpus: [] })
    const copy = net.running.coordinator.store.candidates().find((c) => c.origin_seq === seq)
    expect(copy).toMatchObject({ parent_oid: newBest, submitter: carol.publicKey })
    // Carol replays her edit onto the new best and arrives at the copy's files: not hers to send again, and she is told why.
    const own = await refusal(async () => net.submitEdit(carol, setConstant('SALT', 7), { parent: newBest }))
    expect(own.name).toBe('DuplicateTreeError')
    expect(own.message).toContain(`candidate #${copy?.seq as number}, the coordinator's rebase of your candidate #${seq}`)
    const other = await refusal(async () => net.submitEdit(mallory, setConstant('SALT', 7), { parent: newBest }))
    expect(other.name).toBe('DuplicateTreeError')
    expect(other.message).toContain('the first submitter owns it')
  })
})
