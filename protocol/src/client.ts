import type { Multiaddr } from '@multiformats/multiaddr'
import { randomBytes } from 'node:crypto'
import { CorruptPackError } from './errors.ts'
import { MAX_PACK_FRAME_BYTES, READ_TIMEOUT_MS } from './framing.ts'
import { exportPack, hasCommit, objectsMissing, sha256Hex } from './git.ts'
import type { Identity } from './identity.ts'
import type { Manifest } from './manifest.ts'
import {
  AttestReply, CandidateStatusReply, ClaimReply, FetchReply, HistoryReply, HypothesesReply, InfoReply, LeaseReply, PROTOCOL, ReportReply, SubmitReply,
  type AttestationBody, type ClaimBody, type ExperimentReport, type Hardware, type HypothesesBody, type LeaseRequestBody, type ReportBatchBody, type SubmissionBody
} from './messages.ts'
import type { AutoresearchNode } from './node.ts'
import { fetchRules, importPack } from './pack-check.ts'
import { request } from './rpc.ts'

export interface CallOptions { signal?: AbortSignal }

export function newNonce (): string {
  return randomBytes(16).toString('hex')
}

/** A peer's view of one coordinator: every protocol as a typed method. */
export class CoordinatorClient {
  readonly node: AutoresearchNode
  readonly address: Multiaddr | string

  constructor (node: AutoresearchNode, address: Multiaddr | string) {
    this.node = node
    this.address = address
  }

  async info (opts: CallOptions = {}): Promise<InfoReply> {
    const { reply, framed } = await request(this.node, this.address, PROTOCOL.info, { type: 'info' }, InfoReply, opts)
    await framed.close()
    return reply
  }

  async candidate (seq: number, opts: CallOptions = {}): Promise<CandidateStatusReply> {
    const { reply, framed } = await request(this.node, this.address, PROTOCOL.candidate, { type: 'candidate', seq }, CandidateStatusReply, opts)
    await framed.close()
    return reply
  }

  /** Fetches the objects of `want` that are not reachable from `have`, as a pack (undefined when nothing is missing). */
  async fetchPack (want: string, have: string[], opts: CallOptions & { maxBytes?: number } = {}): Promise<{ objects: number, pack?: Uint8Array }> {
    const { reply, framed } = await request(this.node, this.address, PROTOCOL.fetch, { type: 'fetch', want, have: have.slice(0, 256) }, FetchReply, opts)
    if (reply.objects === 0) {
      await framed.close()
      return { objects: 0 }
    }
    const pack = await framed.readBytes(opts.maxBytes ?? MAX_PACK_FRAME_BYTES)
    await framed.close()
    if (pack.byteLength !== reply.bytes) throw new CorruptPackError(`announced ${reply.bytes} pack bytes, received ${pack.byteLength}`)
    return { objects: reply.objects, pack }
  }

  /**
   * Brings commit `want` into the local repository at `gitdir`, fetching only missing
   * objects. The reply is held to the rules the coordinator's intake applies (see
   * checkPack, with `limits` the cause's): a coordinator cannot make a volunteer store
   * anything `want` does not use. Without `want`'s objects, nothing is stored.
   */
  async sync (gitdir: string, want: string, have: string[], opts: CallOptions & { maxBytes?: number, limits?: Manifest['limits'] } = {}): Promise<{ objects: number }> {
    const { objects, pack } = await this.fetchPack(want, have, opts)
    if (pack !== undefined) await importPack(gitdir, pack, want, fetchRules(opts.limits, opts.maxBytes ?? MAX_PACK_FRAME_BYTES))
    else if (!await hasCommit(gitdir, want)) throw new CorruptPackError(`the coordinator sent no objects, but commit ${want} is not here`)
    return { objects }
  }

  async submit (identity: Identity, fields: Omit<SubmissionBody, 'type' | 'publicKey' | 'nonce' | 'time' | 'packSha256'>, pack: Uint8Array, opts: CallOptions = {}): Promise<SubmitReply> {
    const body: SubmissionBody = { type: 'submission', ...fields, packSha256: sha256Hex(pack), publicKey: identity.publicKey, nonce: newNonce(), time: Date.now() }
    return this.submitSigned(body, identity.sign('submission', body), pack, opts)
  }

  /** Sends an already signed submission (tests use it to replay or forge one). */
  async submitSigned (body: SubmissionBody, signature: string, pack: Uint8Array, opts: CallOptions = {}): Promise<SubmitReply> {
    const { reply, framed } = await request(this.node, this.address, PROTOCOL.submit, { type: 'submit', body, signature }, SubmitReply, { ...opts, attachment: pack })
    await framed.close()
    return reply
  }

  /**
   * `waitMs`: let the coordinator hold the request until a job exists (it caps the wait);
   * `warm`: ask for the pooled seeds of the current best (`LeaseReply.warm`); `warmBest`:
   * the best whose seeds this verifier already has (a held request returns when the best moves on).
   */
  async lease (identity: Identity, causeId: string, hardware: Hardware, opts: CallOptions & { waitMs?: number, warm?: boolean, warmBest?: string, help?: boolean } = {}): Promise<LeaseReply> {
    const { waitMs, warm, warmBest, help, ...call } = opts
    const body: LeaseRequestBody = {
      type: 'lease-request', causeId, publicKey: identity.publicKey, hardware, nonce: newNonce(), time: Date.now(),
      ...(waitMs === undefined || waitMs <= 0 ? {} : { waitMs }),
      ...(warm === true ? { warm, ...(warmBest === undefined ? {} : { warmBest }) } : {}),
      ...(help === true ? { help } : {})
    }
    // A held reply comes after up to `waitMs`: the read waits that long beyond the usual limit.
    const timeoutMs = waitMs === undefined || waitMs <= 0 ? undefined : READ_TIMEOUT_MS + waitMs
    const { reply, framed } = await request(this.node, this.address, PROTOCOL.lease, { type: 'lease', body, signature: identity.sign('lease-request', body) }, LeaseReply, { ...call, timeoutMs })
    await framed.close()
    return reply
  }

  /** Sends one signed batch of experiment reports (at most MAX_REPORTS_PER_BATCH). */
  async report (identity: Identity, causeId: string, reports: ExperimentReport[], opts: CallOptions & { hardware?: Hardware } = {}): Promise<ReportReply> {
    const { hardware, ...call } = opts
    const body: ReportBatchBody = { type: 'experiment-reports', causeId, publicKey: identity.publicKey, ...(hardware === undefined ? {} : { hardware }), reports, nonce: newNonce(), time: Date.now() }
    const { reply, framed } = await request(this.node, this.address, PROTOCOL.report, { type: 'report', body, signature: identity.sign('experiment-reports', body) }, ReportReply, call)
    await framed.close()
    return reply
  }

  /** What the network tried on `best` and the bests before it (a selection), and the hashes of every edit tried on `best`. */
  async history (best: string, opts: CallOptions & { limit?: number } = {}): Promise<HistoryReply> {
    const { limit, ...call } = opts
    const { reply, framed } = await request(this.node, this.address, PROTOCOL.history, { type: 'history', best, ...(limit === undefined ? {} : { limit }) }, HistoryReply, call)
    await framed.close()
    return reply
  }

  /** Claims an edit of `best` (its normalized hash) or a hypothesis before running it; the reply says whether to go on. */
  async claim (identity: Identity, causeId: string, claim: Omit<ClaimBody, 'type' | 'causeId' | 'publicKey' | 'nonce' | 'time'>, opts: CallOptions = {}): Promise<ClaimReply> {
    const body: ClaimBody = { type: 'claim', causeId, publicKey: identity.publicKey, ...claim, nonce: newNonce(), time: Date.now() }
    const { reply, framed } = await request(this.node, this.address, PROTOCOL.claim, { type: 'claim', body, signature: identity.sign('claim', body) }, ClaimReply, opts)
    await framed.close()
    return reply
  }

  /** Posts a planner's hypotheses (made on `best`); returns their numbers. */
  async postHypotheses (identity: Identity, causeId: string, best: string, hypotheses: string[], opts: CallOptions = {}): Promise<HypothesesReply> {
    const body: HypothesesBody = { type: 'hypotheses', causeId, publicKey: identity.publicKey, best, hypotheses, nonce: newNonce(), time: Date.now() }
    const { reply, framed } = await request(this.node, this.address, PROTOCOL.hypotheses, { type: 'hypotheses', body, signature: identity.sign('hypotheses', body) }, HypothesesReply, opts)
    await framed.close()
    return reply
  }

  async attest (identity: Identity, body: Omit<AttestationBody, 'type' | 'publicKey' | 'time'>, opts: CallOptions = {}): Promise<AttestReply> {
    const full: AttestationBody = { type: 'attestation', ...body, publicKey: identity.publicKey, time: Date.now() }
    const { reply, framed } = await request(this.node, this.address, PROTOCOL.attest, { type: 'attest', body: full, signature: identity.sign('attestation', full) }, AttestReply, opts)
    await framed.close()
    return reply
  }
}

/** The pack a submitter sends: objects of `candidate` the coordinator lacks, given it has `parent`. */
export async function packForSubmission (gitdir: string, candidate: string, parent: string): Promise<Uint8Array> {
  return exportPack(gitdir, await objectsMissing(gitdir, candidate, [parent]))
}
