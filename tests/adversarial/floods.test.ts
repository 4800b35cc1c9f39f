/**
 * Floods: one identity past its daily quota, many fresh identities at once (a Sybil flood),
 * races for the same tree and the same nonce, bursts of garbage and of refused submissions,
 * and idle streams held open. The coordinator must keep answering, store exactly what it
 * acknowledged, and refuse the rest with typed errors.
 */
import * as fs from 'node:fs'
import git from 'isomorphic-git'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { commitTreeOn, commitWithChanges, Identity, PROTOCOL, readFileAt, type SubmitReply } from '@autoresearch/protocol'
import { QUOTA } from 'autoresearch-coordinator'
import { expectAlive, expectRefused, snapshot, startArena, type Arena } from './arena.ts'
import { submissionBody, submitCommit, trainEdit } from './messages.ts'
import { rawPack } from './git-objects.ts'
import { frame, rawStream, throwIfError } from './raw-frames.ts'

const settle = async <T>(promises: Array<Promise<T>>): Promise<{ ok: T[], errors: Error[] }> => {
  const results = await Promise.allSettled(promises)
  return {
    ok: results.flatMap((r) => r.status === 'fulfilled' ? [r.value] : []),
    errors: results.flatMap((r) => r.status === 'rejected' ? [r.reason as Error] : [])
  }
}

describe('floods', () => {
  let arena: Arena
  beforeAll(async () => { arena = await startArena() })
  afterAll(async () => { await arena.stop() })

  const candidates = (): number => arena.running.coordinator.store.candidates().length

  it(`refuses one identity's submission past its daily quota (${QUOTA.base}) with QuotaExceededError`, async () => {
    const greedy = Identity.generate()
    const started = Date.now()
    for (let i = 0; i < QUOTA.base; i++) {
      const { receipt } = await submitCommit(arena, await trainEdit(arena, `quota ${i}`), { identity: greedy })
      expect(receipt.submitter).toBe(greedy.publicKey)
    }
    expect(Date.now() - started).toBeLessThan(30_000)
    const err = await expectRefused(arena, async () => submitCommit(arena, await trainEdit(arena, 'one too many'), { identity: greedy }), 'QuotaExceededError')
    expect(err.message).toContain(`quota of ${QUOTA.base}`)
    // A refusal does not count against the quota either way: the next one is refused the same.
    await expectRefused(arena, async () => submitCommit(arena, await trainEdit(arena, 'still too many'), { identity: greedy }), 'QuotaExceededError')
  })

  it('takes a flood of valid submissions from many fresh identities, stores exactly what it acknowledged, and keeps answering', async () => {
    // Per-identity quotas do not stop this (a Sybil flood): every new key has its own quota.
    const n = 25
    const sybils = Array.from({ length: n }, () => Identity.generate())
    const commits: string[] = []
    for (let i = 0; i < n; i++) commits.push(await trainEdit(arena, `sybil ${i}`))
    const evaluate = await readFileAt(arena.gitdir, arena.best, 'evaluate.py') as string
    const protectedEdit = await commitWithChanges(arena.gitdir, arena.best, { 'evaluate.py': evaluate + '\n# sybil\n' }, 'sybil cheat')
    const before = candidates()
    const nonces = (await snapshot(arena.running)).nonces.length
    const started = Date.now()
    const valid = sybils.map(async (id, i) => submitCommit(arena, commits[i] as string, { identity: id }))
    const refused = sybils.map(async (id) => submitCommit(arena, protectedEdit, { identity: id }))
    const info = Array.from({ length: 10 }, async () => (await arena.clientFor(arena.honest)).info())
    const [ok, bad, answered] = await Promise.all([settle(valid), settle(refused), settle(info)])
    expect(Date.now() - started).toBeLessThan(60_000)
    expect(ok.errors).toEqual([])
    expect(bad.ok).toEqual([])
    expect(new Set(bad.errors.map((e) => e.name))).toEqual(new Set(['ProtectedPathError']))
    expect(answered.errors).toEqual([])
    const seqs = ok.ok.map((r) => r.receipt.candidateSeq).sort((a, b) => a - b)
    expect(seqs).toEqual(Array.from({ length: n }, (_, i) => before + 1 + i))
    expect(candidates()).toBe(before + ok.ok.length)
    expect((await snapshot(arena.running)).nonces.length).toBe(nonces + ok.ok.length)
    await expectAlive(arena)
  })

  it('gives one receipt when many identities race to submit the same tree at once', async () => {
    const base = await trainEdit(arena, 'contested')
    const { commit } = await git.readCommit({ fs, gitdir: arena.gitdir, oid: base })
    const racers = Array.from({ length: 8 }, () => Identity.generate())
    const copies = await Promise.all(racers.map(async (_, i) => commitTreeOn(arena.gitdir, commit.tree, arena.best, `racer ${i}`)))
    const before = candidates()
    const { ok, errors } = await settle(racers.map(async (id, i) => submitCommit(arena, copies[i] as string, { identity: id })))
    expect(ok).toHaveLength(1)
    expect(errors.map((e) => e.name)).toEqual(Array(7).fill('DuplicateTreeError'))
    expect(candidates()).toBe(before + 1)
    const winner = (ok[0] as SubmitReply).receipt
    for (const e of errors) expect(e.message).toContain(`#${winner.candidateSeq}`)
  })

  it('gives one receipt when the same signed submission is replayed concurrently', async () => {
    const commit = await trainEdit(arena, 'replayed at once')
    const pack = await rawPack(arena.gitdir, commit, arena.best)
    const body = submissionBody(arena, arena.attacker, commit, pack)
    const signature = arena.attacker.sign('submission', body)
    const before = candidates()
    const { ok, errors } = await settle(Array.from({ length: 6 }, async () => arena.client.submitSigned(body, signature, pack)))
    expect(ok).toHaveLength(1)
    expect(errors.map((e) => e.name)).toEqual(Array(5).fill('ReplayedNonceError'))
    expect(candidates()).toBe(before + 1)
  })

  it('answers a burst of 100 garbage streams and 30 refused submissions with typed errors, and still serves an honest submitter', async () => {
    const honest = Identity.generate()
    const honestCommit = await trainEdit(arena, 'honest during the storm')
    const cheats: string[] = []
    const evaluate = await readFileAt(arena.gitdir, arena.best, 'evaluate.py') as string
    for (let i = 0; i < 30; i++) {
      cheats.push(await commitWithChanges(arena.gitdir, arena.best, { 'evaluate.py': `${evaluate}\n# cheat ${i}\n` }, 'cheat'))
    }
    const before = await snapshot(arena.running)
    const junk = Array.from({ length: 100 }, async (_, i) => {
      const s = await rawStream(arena.node, arena.net.address, [PROTOCOL.info, PROTOCOL.submit, PROTOCOL.lease, PROTOCOL.attest, PROTOCOL.fetch][i % 5] as string)
      try {
        await s.send(frame(i % 2 === 0 ? `garbage ${i}` : JSON.stringify({ type: 'nope', i })))
        return throwIfError(await s.reply(20_000))
      } finally {
        s.abort()
      }
    })
    const refused = cheats.map(async (c) => submitCommit(arena, c))
    const started = Date.now()
    const served = submitCommit(arena, honestCommit, { identity: honest })
    const [j, r, h] = await Promise.all([settle(junk), settle(refused), settle([served])])
    expect(j.ok).toEqual([])
    expect(new Set(j.errors.map((e) => e.name))).toEqual(new Set(['InvalidMessageError']))
    expect(r.ok).toEqual([])
    expect(new Set(r.errors.map((e) => e.name))).toEqual(new Set(['ProtectedPathError']))
    expect(h.errors).toEqual([])
    expect(Date.now() - started).toBeLessThan(30_000)
    // Only the honest candidate was added.
    const after = await snapshot(arena.running)
    expect(after.candidates.length).toBe(before.candidates.length + 1)
    expect(after.nonces.length).toBe(before.nonces.length + 1)
    expect(after.merges).toEqual(before.merges)
    expect(after.ref).toBe(before.ref)
  })

  it('keeps serving while one peer holds 64 idle streams open', async () => {
    const idle = await Promise.all(Array.from({ length: 64 }, async (_, i) => rawStream(arena.node, arena.net.address, i % 2 === 0 ? PROTOCOL.info : PROTOCOL.submit)))
    try {
      const started = Date.now()
      await expectAlive(arena)
      const { receipt } = await submitCommit(arena, await trainEdit(arena, 'while idle streams wait'), { identity: Identity.generate() })
      expect(receipt.candidateSeq).toBeGreaterThan(0)
      expect(Date.now() - started).toBeLessThan(10_000)
    } finally {
      for (const s of idle) s.abort()
    }
  })
})
