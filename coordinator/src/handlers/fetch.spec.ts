import { Identity, peerIdOf, UnknownCommitError, type RequestContext } from '@autoresearch/protocol'
import { describe, expect, it } from 'vitest'
import type { Config } from '../home.ts'
import type { CandidateRow } from '../store/index.ts'
import { fetchHandler } from './fetch.ts'

const verifier = Identity.generate()
const stranger = Identity.generate()
const PENDING = 'a'.repeat(40)
const UNKNOWN = 'b'.repeat(40)

const DECIDED = 'c'.repeat(40)

function handler (verifierMode: 'allowlist' | 'open', buildOnPending = false) {
  return fetchHandler({
    paths: { gitdir: '/nonexistent' } as never,
    config: { verifiers: [verifier.publicKey], verifierMode } as Config,
    manifest: { collaboration: { claimMinutes: 15, plateau: 8, buildOnPending } },
    store: {
      isMergedCommit: () => false,
      candidateByCommit: (oid) => oid === PENDING ? { state: 'queued' } as CandidateRow : oid === DECIDED ? { state: 'rejected' } as CandidateRow : undefined
    }
  })
}
const from = (identity: Identity) => ({ remotePeer: peerIdOf(identity.publicKey) }) as RequestContext

describe('fetch: who may have what', () => {
  it('refuses a commit that is neither merged nor a candidate, to anyone', async () => {
    await expect(handler('open')({ type: 'fetch', want: UNKNOWN, have: [] }, from(verifier))).rejects.toThrow(UnknownCommitError)
  })

  it('keeps a pending candidate from peers that may not verify it', async () => {
    await expect(handler('allowlist')({ type: 'fetch', want: PENDING, have: [] }, from(stranger))).rejects.toThrow(UnknownCommitError)
  })

  it('gives anyone an open candidate where the cause lets workers build on it, never a decided one', async () => {
    // Past the access check the handler reads the repository, which is not there: git's error, not the refusal.
    await expect(handler('allowlist', true)({ type: 'fetch', want: PENDING, have: [] }, from(stranger))).rejects.not.toThrow(/not published/)
    await expect(handler('allowlist', true)({ type: 'fetch', want: DECIDED, have: [] }, from(stranger))).rejects.toThrow(/not published/)
    await expect(handler('allowlist')({ type: 'fetch', want: PENDING, have: [] }, from(stranger))).rejects.toThrow(/not published/)
  })
})
