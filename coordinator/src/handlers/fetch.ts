import { exportPack, isOpenState, objectsMissing, peerIdOf, UnknownCommitError, type FetchRequest, type Handler, type Manifest } from '@autoresearch/protocol'
import type { z } from 'zod'
import type { Coordinator } from '../coordinator.ts'
import type { Store } from '../store/index.ts'

export type FetchDeps = Pick<Coordinator, 'paths' | 'config'> & { manifest: Pick<Manifest, 'collaboration'>, store: Pick<Store, 'isMergedCommit' | 'candidateByCommit'> }

/**
 * `fetch`: a pack of the objects `want` needs that the peer lacks, sent as a frame after
 * the reply. Merged commits are public; a pending candidate only to allowlisted verifiers
 * (in open mode anyone may verify, so anyone may fetch it; the first submitter of a tree
 * still owns it), and to anyone while it is open where the cause lets workers build on it
 * (`collaboration.buildOnPending`).
 */
export function fetchHandler (c: FetchDeps): Handler<z.infer<typeof FetchRequest>> {
  // The allowlist can change while serving (`verifiers add|remove`): the peer ids follow it.
  let peersOf: { verifiers: string[], peers: Set<string> } | undefined
  const verifierPeers = (): Set<string> => {
    const { verifiers } = c.config
    if (peersOf?.verifiers !== verifiers) peersOf = { verifiers, peers: new Set(verifiers.map(peerIdOf)) }
    return peersOf.peers
  }
  return async (req, ctx) => {
    const published = c.store.isMergedCommit(req.want)
    const mayVerify = c.config.verifierMode === 'open' || verifierPeers().has(ctx.remotePeer)
    const candidate = published ? undefined : c.store.candidateByCommit(req.want)
    const open = candidate !== undefined && c.manifest.collaboration.buildOnPending && isOpenState(candidate.state)
    const verifiable = candidate !== undefined && (mayVerify || open)
    if (!published && !verifiable) throw new UnknownCommitError(`commit ${req.want} is not published by this coordinator`)
    const oids = await objectsMissing(c.paths.gitdir, req.want, req.have)
    if (oids.length === 0) return { ok: true, objects: 0, bytes: 0 }
    const pack = await exportPack(c.paths.gitdir, oids)
    await ctx.framed.writeJson({ ok: true, objects: oids.length, bytes: pack.byteLength })
    await ctx.framed.writeBytes(pack)
    return undefined
  }
}
