import {
  asStorageError, AutoresearchError, assertCompleteTree, assertSignature, changedPaths, checkPack, DuplicateTreeError, EmptyChangeError, InvalidMessageError, ProtectedPathError,
  protectedChanges, ReplayedNonceError, sha256Hex, StaleMessageError, storeObjects, submissionRules, UnknownParentError, WrongCauseError,
  type Identity, type Manifest, type ReceiptBody, type SubmissionBody
} from '@autoresearch/protocol'
import { logger } from '@libp2p/logger'
import { addressKey, assertAddressMaySubmit, assertMaySubmit, REFUSALS } from './policy.ts'
import type { CandidateRow, Store } from './store/index.ts'
import { lineageOf } from './lineage.ts'
import { mayBuildOn } from './rules/parent.ts'
import { newCandidate } from './new-candidate.ts'
import { sameTree } from './rules/same-tree.ts'

const log = logger('autoresearch:coordinator:intake')

/** What intake reads and writes: the receipt ledger, the quotas and the seed pools. */
export type IntakeStore = Pick<Store, 'recordRefusal' | 'nonceSeen' | 'isMergedCommit' | 'candidateByTree' | 'nextSeq' | 'insertCandidate' |
'identity' | 'submissionsSince' | 'refusalsSince' | 'seedPool' | 'setSeedPool' | 'candidateByCommit' | 'candidate' | 'latestRebase' | 'setCandidateState' | 'transaction'>

/** How far a signed message's clock may be from ours. */
export const CLOCK_SKEW_MS = 10 * 60 * 1000

export interface IntakeContext {
  causeId: string
  manifest: Manifest
  gitdir: string
  store: IntakeStore
  identity: Identity
  /** Refused submissions an address may send per window (REFUSALS.perAddress unless the config sets it). */
  refusalsPerAddress?: number
}

/** Refusals that cost the coordinator nothing (or are its own fault) and are not charged. */
const UNCHARGED = new Set(['QuotaExceededError', 'BannedError', 'StorageFullError'])

/**
 * Intake, with every typed refusal charged to the sender's address and, when the
 * signature and nonce checked out, to its identity (see REFUSALS), so that retrying
 * is not free.
 */
export async function intake (ctx: IntakeContext, body: SubmissionBody, signature: string, pack: Uint8Array, remoteAddr?: string): Promise<{ receipt: ReceiptBody, signature: string }> {
  const address = addressKey(remoteAddr)
  const signed = { checked: false }
  try {
    assertAddressMaySubmit(ctx.store, address, ctx.refusalsPerAddress)
    return await checkedIntake(ctx, body, signature, pack, signed)
  } catch (err) {
    if (err instanceof AutoresearchError && !UNCHARGED.has(err.name)) {
      try {
        const at = Date.now()
        ctx.store.recordRefusal({ at, address, publicKey: signed.checked ? body.publicKey : null, nonce: signed.checked ? body.nonce : null, error: err.name }, at - REFUSALS.keepMs)
      } catch (recordErr) {
        // A full database must not hide the refusal's reason from the sender.
        log.error('could not record the refusal of a submission: %e', recordErr)
      }
    }
    throw err
  }
}

export function assertFresh (time: number, now = Date.now()): void {
  if (Math.abs(now - time) > CLOCK_SKEW_MS) {
    throw new StaleMessageError(`message time ${new Date(time).toISOString()} is more than ${CLOCK_SKEW_MS / 60000} minutes from the coordinator's clock; check your system time`)
  }
}

/**
 * The cheap checks before any GPU time is spent, in order of cost. The pack is parsed
 * and checked in memory (object count, sizes, closure of the candidate) before anything
 * is written; what is written is removed again if a later check refuses the candidate,
 * and nothing is written to the database unless every check passes.
 */
async function checkedIntake (ctx: IntakeContext, body: SubmissionBody, signature: string, pack: Uint8Array, signed: { checked: boolean }): Promise<{ receipt: ReceiptBody, signature: string }> {
  const { store, manifest, gitdir } = ctx
  if (body.causeId !== ctx.causeId) throw new WrongCauseError(`this coordinator hosts ${ctx.causeId}, not ${body.causeId}`)
  assertFresh(body.time)
  assertSignature('submission', body, signature, body.publicKey)
  if (store.nonceSeen(body.publicKey, body.nonce)) throw new ReplayedNonceError(`nonce ${body.nonce} was already used by this identity`)
  signed.checked = true
  assertMaySubmit(store, body.publicKey)
  if (sha256Hex(pack) !== body.packSha256) throw new InvalidMessageError('the pack does not match the signed packSha256')
  // A candidate in the queue as the parent: this one waits for that one's verdict and is measured against it (rules/parent.ts).
  const { buildOnPending } = manifest.collaboration
  if (!mayBuildOn({ merged: store.isMergedCommit(body.parent), candidateOf: store.candidateByCommit(body.parent)?.submitter }, body.publicKey, { buildOnPending })) {
    throw new UnknownParentError(`parent ${body.parent} is neither a best commit of ${ctx.causeId} nor a candidate of ${buildOnPending ? 'this cause' : 'yours'}; fetch the current best and rebase`)
  }

  const { tree, parents, missing } = await checkPack(gitdir, pack, body.candidate, submissionRules(manifest))
  if (parents.length !== 1 || parents[0] !== body.parent) {
    throw new UnknownParentError(`candidate ${body.candidate} must have exactly one parent, ${body.parent}`)
  }
  const first = store.candidateByTree(tree)
  const known = first === undefined ? undefined : { first, lineage: lineageOf(store, first) }
  const same = known === undefined ? undefined : sameTree(known.first, known.lineage, body.publicKey, body.parent)
  if (known !== undefined && same === 'repeat') return known.first.receipt
  if (known !== undefined && same === 'duplicate') {
    const { first } = known
    // The coordinator's own carry of this submitter's candidate: nothing was taken from anyone, and nothing needs sending.
    if (first.submitter === body.publicKey && first.origin_seq !== null) throw new DuplicateTreeError(`this tree is already candidate #${first.seq}, the coordinator's rebase of your candidate #${first.origin_seq}; it is verified as that one`)
    throw new DuplicateTreeError(`this tree was already submitted as candidate #${first.seq} by ${first.submitter.slice(0, 16)}…; the first submitter owns it`)
  }
  const carried = same === 'carried' ? known : undefined

  const stored = await storeObjects(gitdir, missing)
  try {
    await assertCompleteTree(gitdir, body.candidate, manifest.limits.maxFileBytes)
    const changes = await changedPaths(gitdir, body.parent, body.candidate)
    if (changes.length === 0) throw new EmptyChangeError('the candidate changes no file')
    // A rename is a deletion and an addition: both paths must be editable.
    const refused = protectedChanges(manifest, changes)
    if (refused.length > 0) {
      throw new ProtectedPathError(`only ${manifest.editable.join(', ')} may change; this candidate changes ${refused.map((c) => `${c.path} (${c.change})`).join(', ')}`)
    }
    const row = newCandidate(ctx, {
      commit: body.candidate, tree, parent: body.parent, submitter: body.publicKey, claimedMetric: body.claimedMetric,
      description: body.description, submission: { body, signature }, origin: carried?.first.seq ?? null
    })
    store.transaction(() => {
      store.insertCandidate(row, body.nonce)
      // Where the lineage stood is now carried on, by its owner, as a rebase would have.
      if (carried !== undefined) store.setCandidateState(carried.lineage.seq, 'rebased', `carried onto ${body.parent.slice(0, 10)} by its submitter as candidate #${row.seq}`)
    })
    return row.receipt
  } catch (err) {
    await stored.discard()
    throw asStorageError(err)
  }
}
