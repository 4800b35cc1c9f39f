import { Identity, peerIdOf, UnknownCommitError, type RequestContext } from '@autoresearch/protocol'
import { describe, expect, it } from 'vitest'
import type { Config } from '../home.ts'
import type { CandidateRow } from '../store/index.ts'
import { fetchHandler } from './fetch.ts'

const verifier = Identity.generate()
const stranger = Identity.generate()
const PENDING = 'a'.repeat(40)
const UNKNOWN = 'b'.repeat(40)

function handler (verifierMode: 'allowlist' | 'open') {
  return fetchHandler({
    paths: { gitdir: '/nonexistent' } as never,
    config: { verifiers: [verifier.publicKey], verifierMode } as Config,
    store: { isMergedCommit: () => false, candidateByCommit: (oid) => oid === PENDING ? {} as CandidateRow : undefined }
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
})
