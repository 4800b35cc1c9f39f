/**
 * Forged, replayed and cross-context signatures; identities that may not act (banned,
 * not allowlisted); clocks and cause ids that do not match. Every case is a real libp2p
 * peer on 127.0.0.1, gets a typed rejection and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Identity, newNonce, verifySignature, type Job, type SubmitReply } from '@autoresearch/protocol'
import { expectRefused, snapshot, startArena, HARDWARE, type Arena } from './arena.ts'
import { attestationBody, leaseBody, sendAttestation, sendLease, submissionBody, submitCommit, trainEdit, trialsFor } from './messages.ts'
import { rawPack } from './git-objects.ts'

const TWENTY_MINUTES = 20 * 60 * 1000

describe('signatures, identities, clocks and causes', () => {
  let arena: Arena
  /** A second allowlisted verifier, who tries to act on jobs that are not hers. */
  const eve = Identity.generate()
  let accepted: { commit: string, body: ReturnType<typeof submissionBody>, signature: string, pack: Uint8Array, reply: SubmitReply }
  let job: Job

  beforeAll(async () => {
    arena = await startArena({ extraVerifiers: [eve] })
    // One honest submission, kept for the replay and receipt cases.
    const commit = await trainEdit(arena, 'honest')
    const pack = await rawPack(arena.gitdir, commit, arena.best)
    const body = submissionBody(arena, arena.attacker, commit, pack)
    const signature = arena.attacker.sign('submission', body)
    accepted = { commit, body, signature, pack, reply: await arena.client.submitSigned(body, signature, pack) }
  })
  afterAll(async () => { await arena.stop() })

  it('refuses a submission signed by another key than the one it names (impersonation)', async () => {
    const victim = Identity.generate()
    const commit = await trainEdit(arena, 'impersonation')
    const pack = await rawPack(arena.gitdir, commit, arena.best)
    const body = submissionBody(arena, victim, commit, pack)
    await expectRefused(arena, async () => arena.client.submitSigned(body, arena.attacker.sign('submission', body), pack), 'InvalidSignatureError')
  })

  it('refuses a correctly signed submission whose body was changed afterwards (a better claim)', async () => {
    const commit = await trainEdit(arena, 'tampered')
    const pack = await rawPack(arena.gitdir, commit, arena.best)
    const body = submissionBody(arena, arena.attacker, commit, pack, { claimedMetric: 0.07 })
    const signature = arena.attacker.sign('submission', body)
    await expectRefused(arena, async () => arena.client.submitSigned({ ...body, claimedMetric: 0.0001 }, signature, pack), 'InvalidSignatureError')
  })

  it('refuses the exact replay of an accepted submission', async () => {
    expect(accepted.reply.receipt.candidate).toBe(accepted.commit)
    await expectRefused(arena, async () => arena.client.submitSigned(accepted.body, accepted.signature, accepted.pack), 'ReplayedNonceError')
  })

  it('refuses a new, validly signed submission that reuses a spent nonce', async () => {
    const commit = await trainEdit(arena, 'nonce reuse')
    const pack = await rawPack(arena.gitdir, commit, arena.best)
    const body = submissionBody(arena, arena.attacker, commit, pack, { nonce: accepted.body.nonce })
    await expectRefused(arena, async () => arena.client.submitSigned(body, arena.attacker.sign('submission', body), pack), 'ReplayedNonceError')
  })

  it('refuses a submission signed for another cause id', async () => {
    const commit = await trainEdit(arena, 'other cause')
    const pack = await rawPack(arena.gitdir, commit, arena.best)
    const body = submissionBody(arena, arena.attacker, commit, pack, { causeId: 'toy-regression/000000000000' })
    await expectRefused(arena, async () => arena.client.submitSigned(body, arena.attacker.sign('submission', body), pack), 'WrongCauseError')
  })

  it('refuses a submission signed for another cause and relabelled with this cause id', async () => {
    const commit = await trainEdit(arena, 'relabelled')
    const pack = await rawPack(arena.gitdir, commit, arena.best)
    const elsewhere = submissionBody(arena, arena.attacker, commit, pack, { causeId: 'toy-regression/000000000000' })
    const signature = arena.attacker.sign('submission', elsewhere)
    await expectRefused(arena, async () => arena.client.submitSigned({ ...elsewhere, causeId: arena.causeId }, signature, pack), 'InvalidSignatureError')
  })

  it('refuses a receipt\'s signature reused as a submission\'s', async () => {
    const coordinatorKey = arena.running.coordinator.identity.publicKey
    // The receipt signature is genuine, by the coordinator's key, but in the receipt domain.
    expect(verifySignature('receipt', accepted.reply.receipt, accepted.reply.signature, coordinatorKey)).toBe(true)
    const commit = await trainEdit(arena, 'receipt signature')
    const pack = await rawPack(arena.gitdir, commit, arena.best)
    const body = submissionBody(arena, arena.attacker, commit, pack, { publicKey: coordinatorKey })
    await expectRefused(arena, async () => arena.client.submitSigned(body, accepted.reply.signature, pack), 'InvalidSignatureError')
  })

  it('refuses a submission its own key signed in another domain (receipt)', async () => {
    const commit = await trainEdit(arena, 'wrong domain')
    const pack = await rawPack(arena.gitdir, commit, arena.best)
    const body = submissionBody(arena, arena.attacker, commit, pack)
    await expectRefused(arena, async () => arena.client.submitSigned(body, arena.attacker.sign('receipt', body), pack), 'InvalidSignatureError')
  })

  it('refuses a submission with a clock 20 minutes slow, and one 20 minutes fast', async () => {
    for (const skew of [-TWENTY_MINUTES, TWENTY_MINUTES]) {
      const commit = await trainEdit(arena, `clock ${skew}`)
      const pack = await rawPack(arena.gitdir, commit, arena.best)
      const body = submissionBody(arena, arena.attacker, commit, pack, { time: Date.now() + skew })
      await expectRefused(arena, async () => arena.client.submitSigned(body, arena.attacker.sign('submission', body), pack), 'StaleMessageError')
    }
  })

  it('refuses a banned identity before reading its pack', async () => {
    const banned = Identity.generate()
    arena.running.coordinator.store.setBanned(banned.publicKey, true, 'plagiarism')
    const commit = await trainEdit(arena, 'banned')
    const err = await expectRefused(arena, async () => submitCommit(arena, commit, { identity: banned }), 'BannedError')
    expect(err.message).toContain('plagiarism')
  })

  it('refuses a lease request from a key that is not allowlisted', async () => {
    await expectRefused(arena, async () => arena.client.lease(arena.attacker, arena.causeId, HARDWARE), 'NotAuthorizedError')
  })

  it('refuses a lease request naming the allowlisted verifier\'s key but signed by the attacker', async () => {
    const body = leaseBody(arena, arena.attacker, { publicKey: arena.verifier.publicKey })
    await expectRefused(arena, async () => sendLease(arena.client, body, arena.attacker.sign('lease-request', body)), 'InvalidSignatureError')
  })

  it('refuses a lease request with a stale clock, and one for another cause', async () => {
    const client = await arena.clientFor(arena.verifier)
    const stale = leaseBody(arena, arena.verifier, { time: Date.now() - TWENTY_MINUTES })
    await expectRefused(arena, async () => sendLease(client, stale, arena.verifier.sign('lease-request', stale)), 'StaleMessageError')
    const other = leaseBody(arena, arena.verifier, { causeId: 'toy-regression/000000000000' })
    await expectRefused(arena, async () => sendLease(client, other, arena.verifier.sign('lease-request', other)), 'WrongCauseError')
  })

  describe('attestations', () => {
    beforeAll(async () => {
      // The host's verifier leases the honest candidate (setup, not an attack).
      const reply = await (await arena.clientFor(arena.verifier)).lease(arena.verifier, arena.causeId, HARDWARE)
      job = reply.job as Job
      expect(job.candidate).toBe(accepted.commit)
    })

    it('refuses an attestation by a key that is not allowlisted, for a real job', async () => {
      const body = attestationBody(arena, arena.attacker, job, trialsFor(job, 0.08, () => 0.01))
      await expectRefused(arena, async () => sendAttestation(arena.client, body, arena.attacker.sign('attestation', body)), 'NotAuthorizedError')
    })

    it('refuses an allowlisted verifier\'s attestation for someone else\'s job', async () => {
      const client = await arena.clientFor(eve)
      const body = attestationBody(arena, eve, job, trialsFor(job, 0.08, () => 0.01))
      await expectRefused(arena, async () => sendAttestation(client, body, eve.sign('attestation', body)), 'UnknownJobError')
    })

    it('refuses an attestation for a job that was never leased', async () => {
      const client = await arena.clientFor(eve)
      const body = attestationBody(arena, eve, job, trialsFor(job, 0.08, () => 0.01), { jobId: 999_999 })
      await expectRefused(arena, async () => sendAttestation(client, body, eve.sign('attestation', body)), 'UnknownJobError')
    })

    it('refuses an attestation signed by its verifier in the lease-request domain', async () => {
      const client = await arena.clientFor(arena.verifier)
      const body = attestationBody(arena, arena.verifier, job, trialsFor(job, 0.08, () => 0.01))
      await expectRefused(arena, async () => sendAttestation(client, body, arena.verifier.sign('lease-request', body)), 'InvalidSignatureError')
    })

    it('refuses an attestation with a stale clock', async () => {
      const client = await arena.clientFor(arena.verifier)
      const body = attestationBody(arena, arena.verifier, job, trialsFor(job, 0.08, () => 0.01), { time: Date.now() + TWENTY_MINUTES })
      await expectRefused(arena, async () => sendAttestation(client, body, arena.verifier.sign('attestation', body)), 'StaleMessageError')
    })

    it('refuses the replay of a counted attestation', async () => {
      const client = await arena.clientFor(arena.verifier)
      // A genuine attestation (no gain: the candidate is rejected) is counted once.
      const body = attestationBody(arena, arena.verifier, job, trialsFor(job, 0.08, () => 0.08))
      const signature = arena.verifier.sign('attestation', body)
      const { verdict } = await sendAttestation(client, body, signature)
      expect(verdict.state).toBe('rejected')
      const attestations = (await snapshot(arena.running)).attestations.length
      await expectRefused(arena, async () => sendAttestation(client, body, signature), 'UnknownJobError')
      expect((await snapshot(arena.running)).attestations).toHaveLength(attestations)
      // A fresh signature over a fresh time does not help either.
      const again = { ...body, time: Date.now() }
      await expectRefused(arena, async () => sendAttestation(client, again, arena.verifier.sign('attestation', again)), 'UnknownJobError')
    })
  })

  it('a refused request never spends a nonce: the same body, correctly signed, is accepted afterwards', async () => {
    const commit = await trainEdit(arena, 'nonce kept')
    const pack = await rawPack(arena.gitdir, commit, arena.best)
    const body = submissionBody(arena, arena.attacker, commit, pack, { nonce: newNonce() })
    await expectRefused(arena, async () => arena.client.submitSigned(body, Identity.generate().sign('submission', body), pack), 'InvalidSignatureError')
    const { receipt } = await arena.client.submitSigned(body, arena.attacker.sign('submission', body), pack)
    expect(receipt.candidate).toBe(commit)
  })
})
