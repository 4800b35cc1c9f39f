/** Signed messages as a hostile peer builds them: submissions, lease requests and attestations, any field overridden, any signature. */
import { randomBytes } from 'node:crypto'
import {
  AttestReply, commitWithChanges, CoordinatorClient, Identity, LeaseReply, newNonce, PROTOCOL, readFileAt, request, sha256Hex,
  type AttestationBody, type Job, type LeaseRequestBody, type SubmissionBody, type SubmitReply, type Trial
} from '@autoresearch/protocol'
import { HARDWARE, type Submitter } from './arena.ts'
import { rawPack } from './git-objects.ts'

// ---------------------------------------------------------------------------------------
// Candidates and submissions.

let counter = 0
/** A unique harmless line, so every candidate has a tree of its own. */
export const uniqueLine = (tag = 'edit'): string => `\n# ${tag} ${++counter} ${randomBytes(4).toString('hex')}\n`

/** A commit on `parent` (default: the arena's best) appending a unique comment to train.py. */
export async function trainEdit (arena: Submitter, tag = 'edit', parent = arena.best, gitdir = arena.gitdir): Promise<string> {
  const text = await readFileAt(gitdir, parent, 'train.py') as string
  return commitWithChanges(gitdir, parent, { 'train.py': text + uniqueLine(tag) }, tag)
}

export interface SubmitFields {
  parent?: string
  causeId?: string
  claimedMetric?: number
  time?: number
  nonce?: string
  publicKey?: string
  packSha256?: string
}

/** A submission body for `commit` and `pack`, with any field overridden. */
export function submissionBody (arena: Submitter, identity: Identity, commit: string, pack: Uint8Array, o: SubmitFields = {}): SubmissionBody {
  return {
    type: 'submission',
    causeId: o.causeId ?? arena.causeId,
    parent: o.parent ?? arena.best,
    candidate: commit,
    packSha256: o.packSha256 ?? sha256Hex(pack),
    claimedMetric: o.claimedMetric ?? 0.05,
    logDigest: sha256Hex('log'),
    description: 'adversarial test',
    publicKey: o.publicKey ?? identity.publicKey,
    nonce: o.nonce ?? newNonce(),
    time: o.time ?? Date.now()
  }
}

/** Signs and sends a submission of `commit` with `pack` (default: the honest pack on its parent). */
export async function submitCommit (arena: Submitter, commit: string, opts: SubmitFields & { identity?: Identity, client?: CoordinatorClient, pack?: Uint8Array } = {}): Promise<SubmitReply> {
  const identity = opts.identity ?? arena.attacker
  const client = opts.client ?? (opts.identity === undefined ? arena.client : await arena.clientFor(identity))
  const pack = opts.pack ?? await rawPack(arena.gitdir, commit, opts.parent ?? arena.best)
  const body = submissionBody(arena, identity, commit, pack, opts)
  return client.submitSigned(body, identity.sign('submission', body), pack)
}

// ---------------------------------------------------------------------------------------
// Leases and attestations, signed by anyone, sent as they are.

export function leaseBody (arena: Submitter, identity: Identity, o: { causeId?: string, time?: number, publicKey?: string } = {}): LeaseRequestBody {
  return { type: 'lease-request', causeId: o.causeId ?? arena.causeId, publicKey: o.publicKey ?? identity.publicKey, hardware: HARDWARE, nonce: newNonce(), time: o.time ?? Date.now() }
}

/** Trials for every seed of `job`: the same baseline, and `candidate(i)` for the candidate. */
export const trialsFor = (job: Job, baseline: number, candidate: (i: number) => number): Trial[] =>
  job.seeds.map((seed, i) => ({ seed, baseline, candidate: candidate(i), baselineLogDigest: sha256Hex('b'), candidateLogDigest: sha256Hex('c') }))

export function attestationBody (arena: Submitter, identity: Identity, job: Job, trials: Trial[], o: { causeId?: string, time?: number, jobId?: number, candidate?: string, baseline?: string } = {}): AttestationBody {
  return {
    type: 'attestation', causeId: o.causeId ?? arena.causeId, jobId: o.jobId ?? job.jobId, candidate: o.candidate ?? job.candidate, baseline: o.baseline ?? job.baseline,
    trials, hardware: HARDWARE, publicKey: identity.publicKey, time: o.time ?? Date.now()
  }
}

/** Sends a lease request with whatever signature is given. */
export async function sendLease (client: CoordinatorClient, body: LeaseRequestBody, signature: string): Promise<LeaseReply> {
  const { reply, framed } = await request(client.node, client.address, PROTOCOL.lease, { type: 'lease', body, signature }, LeaseReply)
  await framed.close()
  return reply
}

/** Sends an attestation with whatever signature is given (a replay, another domain's signature…). */
export async function sendAttestation (client: CoordinatorClient, body: AttestationBody, signature: string): Promise<AttestReply> {
  const { reply, framed } = await request(client.node, client.address, PROTOCOL.attest, { type: 'attest', body, signature }, AttestReply)
  await framed.close()
  return reply
}
