import './polyfill.ts'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPairFromSeed, publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { CONNECTION_LIMITS, pendingPerAddressGater, type ConnectionLimits } from './connections.ts'
import type { Identity } from './identity.ts'

export interface NodeOptions {
  /** Multiaddrs to listen on; none for a dial-only peer (workers, verifiers). */
  listen?: string[]
  /** The libp2p peer key is derived from this identity, so the peer id names the same key. */
  identity?: Identity
  /** Inbound limits (default CONNECTION_LIMITS); they matter only to a node that listens. */
  connections?: Partial<ConnectionLimits>
}

/** A libp2p node: TCP, Noise, yamux, identify, ping and gossipsub (for signed best announcements). */
export async function createNode (opts: NodeOptions = {}) {
  const privateKey = opts.identity === undefined ? undefined : await generateKeyPairFromSeed('Ed25519', opts.identity.seed)
  const limits = { ...CONNECTION_LIMITS, ...opts.connections }
  return createLibp2p({
    ...(privateKey === undefined ? {} : { privateKey }),
    addresses: { listen: opts.listen ?? [] },
    // The socket bound is a last resort for file descriptors: the connection manager refuses first.
    transports: [tcp({ maxConnections: limits.maxConnections + limits.maxPendingIncoming })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: pendingPerAddressGater(limits.maxPendingPerAddress),
    connectionManager: {
      // Volunteers on one host (and tests) reconnect quickly; the default of 5 new
      // inbound connections per second per host would reset them.
      inboundConnectionThreshold: 1000,
      maxConnections: limits.maxConnections,
      maxIncomingPendingConnections: limits.maxPendingIncoming,
      inboundUpgradeTimeout: limits.upgradeTimeoutMs
    },
    services: {
      identify: identify(),
      ping: ping(),
      // Announcements are signed by the coordinator's identity inside the payload, so
      // gossipsub's own message signing is redundant but harmless; flood publishing
      // reaches every directly connected worker without waiting for a mesh to form.
      // Many volunteers share one address (a lab, a campus, a cloud NAT): gossipsub's
      // IP-colocation penalty pushed every one of them below the publish threshold once
      // 14 connected from one address (found by the load suite), so it is off.
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, floodPublish: true, emitSelf: false, scoreParams: { IPColocationFactorWeight: 0 } })
    }
  })
}

export type AutoresearchNode = Awaited<ReturnType<typeof createNode>>

/** The libp2p peer id that a peer running with this ed25519 identity key has. */
export function peerIdOf (publicKeyHex: string): string {
  return peerIdFromPublicKey(publicKeyFromRaw(Buffer.from(publicKeyHex, 'hex'))).toString()
}
