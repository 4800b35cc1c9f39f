import { spawn, type ChildProcess } from 'node:child_process'
import { networkInterfaces } from 'node:os'
import type { Readable } from 'node:stream'
import { logger } from '@libp2p/logger'
import { SandboxSetupError } from '../errors.ts'
import { startHolder } from '../holder.ts'
import { findProgram } from './bwrap.ts'

const log = logger('autoresearch:runner:network')

/**
 * Network for a step that may use it (prepare with `network: true`): never the host's, but a
 * network namespace of its own, where slirp4netns gives it a user-mode NAT to the internet. slirp4netns
 * refuses connections to the host's loopback (`--disable-host-loopback`); before the step's
 * command starts, routes inside the namespace make the private, link-local, shared, reserved
 * and multicast ranges and the host's own addresses unreachable. IPv6 is not configured.
 */

/** IPv4 ranges a step with network may not reach: only the public internet is its business. */
export const BLOCKED_RANGES = [
  '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24',
  '192.0.2.0/24', '192.88.99.0/24', '192.168.0.0/16', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/4', '240.0.0.0/4'
]

/** slirp4netns's own network: its gateway (the host's loopback, refused) and DNS forwarder live here, more specific than 10.0.0.0/8. */
const SLIRP_CIDR = '10.0.2.0/24'
export const SLIRP_DNS = '10.0.2.3'
const READY_MS = 15_000
const IP_MS = 15_000

export interface NetworkHelpers { slirp4netns: string, nsenter: string, ip: string }

/** The programs a step with network needs, or a sentence saying what to install. */
export function networkHelpers (find: (name: string) => string | undefined = findProgram): NetworkHelpers | string {
  const slirp4netns = find('slirp4netns')
  const nsenter = find('nsenter')
  const ip = find('ip')
  if (slirp4netns !== undefined && nsenter !== undefined && ip !== undefined) return { slirp4netns, nsenter, ip }
  const missing = [
    ...(slirp4netns === undefined ? ['slirp4netns (package slirp4netns)'] : []),
    ...(nsenter === undefined ? ['nsenter (package util-linux)'] : []),
    ...(ip === undefined ? ['ip (package iproute2)'] : [])
  ]
  return `this step asks for the network (prepare.network), which the sandbox gives only through its own namespace and needs ${missing.join(', ')}: on Debian/Ubuntu \`sudo apt-get install slirp4netns iproute2\`, on Fedora \`sudo dnf install slirp4netns iproute\``
}

/** The host's own IPv4 addresses: a public one must not be reached through the NAT either. */
function hostAddresses (): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => list ?? []).filter((a) => a.family === 'IPv4' && !a.internal).map((a) => `${a.address}/32`)
}

/** The `ip -batch` lines that make the blocked ranges unreachable inside the namespace. */
export function blockRoutes (extra: string[] = hostAddresses()): string {
  return [...BLOCKED_RANGES, ...extra].filter((cidr) => cidr !== SLIRP_CIDR).map((cidr) => `route add unreachable ${cidr}\n`).join('')
}

async function run (child: ChildProcess, timeoutMs: number, what: string): Promise<void> {
  let said = ''
  for (const s of [child.stdout, child.stderr]) s?.on('data', (c: Buffer) => { if (said.length < 4096) said += c.toString('utf8') })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new SandboxSetupError(`${what} took longer than ${timeoutMs / 1000} s`)) }, timeoutMs)
    child.once('error', (err) => { clearTimeout(timer); reject(err) })
    child.once('exit', (code) => {
      clearTimeout(timer)
      if (code === 0) resolve()
      else reject(new SandboxSetupError(`${what} failed: ${said.trim().split('\n').slice(-2).join(' ') || `exit ${code}`}`))
    })
  })
}

/**
 * A network namespace, held for one step, connected to the internet by slirp4netns with the
 * ranges above unreachable; the step's sandbox joins it through `enter` (bwrap then keeps
 * it, with --share-net). Its routes belong to the holder's namespaces, where the step has no
 * capability, so the step cannot undo them. `close` ends slirp4netns and the holder.
 */
export async function openNetwork (bwrap: string, helpers: NetworkHelpers): Promise<{ enter: string[], close: () => Promise<void> }> {
  const holder = await startHolder(bwrap, ['--unshare-net'], ':', [])
  const { pid } = holder
  const ownUserns = holder.userns.length > 0
  // slirp4netns joins the namespace's owner first when the runner is not root (setns needs the capability there).
  const target = ownUserns ? [`--userns-path=/proc/${pid}/ns/user`, '--netns-type=path', `/proc/${pid}/ns/net`] : [String(pid)]
  const slirp = spawn(helpers.slirp4netns, ['--configure', '--mtu=65520', '--disable-host-loopback', '--ready-fd=3', ...target, 'tap0'], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }
  })
  const close = async (): Promise<void> => {
    if (slirp.exitCode === null && slirp.signalCode === null) slirp.kill('SIGKILL')
    await holder.end()
  }
  try {
    let said = ''
    for (const s of [slirp.stdout, slirp.stderr]) s?.on('data', (c: Buffer) => { if (said.length < 4096) said += c.toString('utf8') })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new SandboxSetupError(`slirp4netns was not ready within ${READY_MS / 1000} s`)), READY_MS)
      ;(slirp.stdio[3] as Readable).once('data', () => { clearTimeout(timer); resolve() })
      slirp.once('error', (err) => { clearTimeout(timer); reject(err) })
      slirp.once('exit', (code) => { clearTimeout(timer); reject(new SandboxSetupError(`slirp4netns exited (${code ?? 'signal'}): ${said.trim().split('\n').slice(-2).join(' ')}`)) })
    })
    const join = [helpers.nsenter, `--target=${pid}`, ...holder.userns, '--net', '--']
    const ip = spawn(join[0] as string, [...join.slice(1), helpers.ip, '-batch', '-'], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } })
    ip.stdin.on('error', (err) => { log('ip closed its input early: %e', err) })
    ip.stdin.end(blockRoutes())
    await run(ip, IP_MS, 'blocking private ranges in the step\'s network')
    return { enter: join, close }
  } catch (err) {
    await close()
    throw err
  }
}
