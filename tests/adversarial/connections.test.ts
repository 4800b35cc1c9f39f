/**
 * Connections: an attacker that opens raw TCP sockets to the coordinator's libp2p port and
 * never finishes the handshake must not keep honest peers out, and its sockets must be
 * closed by the upgrade timeout. The attacker dials from 127.0.0.2 and honest peers from
 * 127.0.0.1 (Linux routes all of 127/8 to loopback), so they are two addresses.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONNECTION_LIMITS, CoordinatorClient, createNode, ensureBareRepo, Identity, type AutoresearchNode } from '@autoresearch/protocol'
import { initHome, serveCoordinator, type RunningCoordinator } from 'autoresearch-coordinator'
import { TOY } from './arena.ts'

const ATTACKER = '127.0.0.2'
const SOCKETS = 50
// Shorter than libp2p's default so the test need not wait ten seconds; the caps are the production defaults.
const UPGRADE_TIMEOUT_MS = 6_000
// A socket the coordinator refuses is closed at once; one it accepts lives until the timeout.
const REFUSED_WITHIN_MS = 1_000
// The honest peer must be done inside the timeout, while the attacker's sockets are still pending.
const HONEST_BUDGET_MS = UPGRADE_TIMEOUT_MS - 2 * REFUSED_WITHIN_MS

interface IdleSocket { socket: Socket, openedAt: number, closedAt?: number }

/** A TCP connection from the attacker's address that sends `bytes` (maybe none) and then nothing. */
async function idleSocket (port: number, bytes: Uint8Array): Promise<IdleSocket> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress: ATTACKER })
    const idle: IdleSocket = { socket, openedAt: Date.now() }
    // A reset, even before the connection completes, is how a refusal may arrive: expected here.
    socket.on('error', () => {})
    socket.once('connect', () => {
      idle.openedAt = Date.now()
      if (bytes.byteLength > 0) socket.write(bytes)
      resolve(idle)
    })
    socket.once('close', () => {
      idle.closedAt = Date.now()
      resolve(idle)
    })
  })
}

// The first bytes of a multistream-select header (length 19, "/multistream/1.0.0\n"), cut short.
const PARTIAL_HEADER = new Uint8Array([19, ...new TextEncoder().encode('/multistream/')])

const until = async (done: () => boolean, ms: number): Promise<boolean> => {
  const deadline = Date.now() + ms
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  return done()
}

describe('connections', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'ar-adv-conn-'))
  let running: RunningCoordinator
  let port: number
  const nodes: AutoresearchNode[] = []
  const sockets: Socket[] = []

  beforeAll(async () => {
    const home = join(scratch, 'home')
    await initHome(home, TOY)
    running = await serveCoordinator({ home, listen: ['/ip4/127.0.0.1/tcp/0'], httpPort: 0, connections: { upgradeTimeoutMs: UPGRADE_TIMEOUT_MS } })
    port = Number(/\/tcp\/(\d+)/.exec(running.multiaddrs[0] as string)?.[1])
  })
  afterAll(async () => {
    for (const s of sockets) s.destroy()
    await Promise.all(nodes.map(async (n) => n.stop()))
    await running.stop()
    rmSync(scratch, { recursive: true, force: true })
  })

  const attack = async (n: number): Promise<IdleSocket[]> => {
    const idle = await Promise.all(Array.from({ length: n }, async (_, i) => idleSocket(port, i % 2 === 0 ? new Uint8Array() : PARTIAL_HEADER)))
    sockets.push(...idle.map((s) => s.socket))
    return idle
  }

  it(`${SOCKETS} idle sockets from one address do not stop a new peer, and the upgrade timeout closes them`, async () => {
    const idle = await attack(SOCKETS)
    const attackedAt = Date.now()

    const node = await createNode({ identity: Identity.generate() })
    nodes.push(node)
    const client = new CoordinatorClient(node, running.multiaddrs[0] as string)
    const gitdir = join(scratch, 'honest.git')
    await ensureBareRepo(gitdir)
    const info = await client.info({ signal: AbortSignal.timeout(HONEST_BUDGET_MS) })
    const { objects } = await client.sync(gitdir, info.best.commit, [], { signal: AbortSignal.timeout(HONEST_BUDGET_MS) })
    expect(objects).toBeGreaterThan(0)
    const honestDoneAt = Date.now()
    expect(honestDoneAt - attackedAt).toBeLessThan(HONEST_BUDGET_MS)

    // The attack was still under way: the sockets the coordinator took were pending meanwhile.
    const pendingThen = idle.filter((s) => s.closedAt === undefined || s.closedAt > honestDoneAt)
    expect(pendingThen).toHaveLength(Math.min(SOCKETS, CONNECTION_LIMITS.maxPendingPerAddress))

    // Every idle socket is closed: the excess at once, the rest by the upgrade timeout.
    expect(await until(() => idle.every((s) => s.closedAt !== undefined), UPGRADE_TIMEOUT_MS + 5_000)).toBe(true)
    const lived = idle.map((s) => (s.closedAt as number) - s.openedAt)
    expect(lived.filter((ms) => ms < REFUSED_WITHIN_MS)).toHaveLength(SOCKETS - pendingThen.length)
    for (const ms of lived.filter((ms) => ms >= REFUSED_WITHIN_MS)) expect(ms).toBeGreaterThanOrEqual(UPGRADE_TIMEOUT_MS - REFUSED_WITHIN_MS)
  })

  it('frees an address\'s slots when its sockets close: the next wave gets the same share', async () => {
    const share = CONNECTION_LIMITS.maxPendingPerAddress
    const idle = await attack(share + 1)
    await new Promise((resolve) => setTimeout(resolve, REFUSED_WITHIN_MS))
    expect(idle.filter((s) => s.closedAt !== undefined)).toHaveLength(1)
    for (const s of idle) s.socket.destroy()
    await until(() => idle.every((s) => s.closedAt !== undefined), REFUSED_WITHIN_MS)
    // The coordinator sees the close a moment after the attacker does.
    await new Promise((resolve) => setTimeout(resolve, REFUSED_WITHIN_MS / 2))
    // Closed by the attacker this time, before any timeout: the slots come back all the same.
    const again = await attack(share + 1)
    await new Promise((resolve) => setTimeout(resolve, REFUSED_WITHIN_MS))
    expect(again.filter((s) => s.closedAt !== undefined)).toHaveLength(1)
    for (const s of again) s.socket.destroy()
  })
})
