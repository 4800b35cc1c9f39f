import { logger } from '@libp2p/logger'
import type { ConnectionGater, MultiaddrConnection } from '@libp2p/interface'
import { getNetConfig, isNetworkAddress } from '@libp2p/utils'

const log = logger('autoresearch:protocol:connections')

/** How many connections a listening node takes, and how long a stranger may take to finish its handshake. */
export interface ConnectionLimits {
  /** Upgraded connections at most, over all peers. */
  maxConnections: number
  /** Inbound connections still in their handshake (multistream, Noise, yamux), over all addresses. */
  maxPendingIncoming: number
  /** Inbound connections still in their handshake from one address (an IPv6 address by its /64). */
  maxPendingPerAddress: number
  /** An inbound connection that has not finished its handshake by then is closed. */
  upgradeTimeoutMs: number
}

/**
 * A public coordinator's limits. libp2p's default of 10 pending inbound connections over
 * all addresses let ten idle sockets refuse every honest peer for as long as the upgrade
 * timeout; a per-address cap keeps one attacker to a small share of a larger allowance.
 * The per-address cap counts only handshakes in flight, which take milliseconds, so many
 * volunteers behind one address (a NAT, or the tests on 127.0.0.1) connecting at once still
 * pass; established connections from one address are not capped for the same reason.
 */
export const CONNECTION_LIMITS: ConnectionLimits = {
  maxConnections: 2000,
  maxPendingIncoming: 1024,
  maxPendingPerAddress: 32,
  // libp2p's own default: a full handshake is a few round trips, so even a slow link is far below it.
  upgradeTimeoutMs: 10_000
}

/** The /64 of an IPv6 address (one host usually holds a whole /64), an IPv4 address as it is. */
export function clientPrefix (address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped !== null) return mapped[1] as string
  if (!address.includes(':')) return address
  const [head = '', tail = ''] = address.split('%')[0]!.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === '' ? [] : tail.split(':')
  const groups = address.includes('::') ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left
  return groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':') + '::/64'
}

/** Counts held per key, each key capped: the rule behind per-address caps, with no I/O. */
export class PerKeyCounter {
  readonly #counts = new Map<string, number>()
  readonly #max: number

  constructor (max: number) { this.#max = max }

  /** Takes a slot for `key`; false (nothing taken) when it already holds the maximum. */
  take (key: string): boolean {
    const n = this.#counts.get(key) ?? 0
    if (n >= this.#max) return false
    this.#counts.set(key, n + 1)
    return true
  }

  release (key: string): void {
    const n = this.#counts.get(key) ?? 0
    if (n <= 1) this.#counts.delete(key)
    else this.#counts.set(key, n - 1)
  }

  count (key: string): number { return this.#counts.get(key) ?? 0 }
  /** Keys holding a slot (the map never keeps an empty one). */
  get keys (): number { return this.#counts.size }
}

/**
 * A connection gater that refuses an inbound connection while its address already has
 * `maxPendingPerAddress` handshakes in flight. A slot is freed when the handshake
 * completes or the connection closes (a failed or timed-out upgrade aborts it).
 */
export function pendingPerAddressGater (maxPendingPerAddress: number): ConnectionGater {
  const pending = new PerKeyCounter(maxPendingPerAddress)
  const held = new WeakMap<MultiaddrConnection, string>()
  const release = (maConn: MultiaddrConnection): void => {
    const key = held.get(maConn)
    if (key === undefined) return
    held.delete(maConn)
    pending.release(key)
  }
  return {
    denyInboundConnection: (maConn) => {
      if (!isNetworkAddress(maConn.remoteAddr)) return false
      const key = clientPrefix(getNetConfig(maConn.remoteAddr).host)
      if (!pending.take(key)) {
        log('refused %s: %d handshakes already in flight from %s', maConn.remoteAddr.toString(), maxPendingPerAddress, key)
        return true
      }
      held.set(maConn, key)
      maConn.addEventListener('close', () => { release(maConn) }, { once: true })
      if (maConn.status === 'closed') release(maConn)
      return false
    },
    denyInboundUpgradedConnection: (_peer, maConn) => {
      release(maConn)
      return false
    }
  }
}
