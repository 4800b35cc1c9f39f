import * as fs from 'node:fs'
import * as net from 'node:net'
import { networkInterfaces } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { blockRoutes, networkHelpers, runTrial, selectBackend, type SandboxBackend } from '@autoresearch/runner'
import { removeTempDirs, tempDir, TOY_DIR, toyManifest, toyVariant } from './helpers.ts'

/**
 * A cause's prepare with `network: true` gets a network namespace of its own (slirp4netns),
 * never the host's: the volunteer's 127.0.0.1, the host's own addresses and the private,
 * link-local and reserved ranges are out of its reach. There is no internet where these
 * tests run, so only the refusals are tested, and that the step does have a network.
 */

afterAll(removeTempDirs)

describe('what a step with network may not reach', () => {
  it('blocks loopback, private, link-local, shared, reserved and multicast ranges and the host\'s addresses', () => {
    const routes = blockRoutes(['203.0.113.7/32'])
    for (const cidr of ['127.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', '100.64.0.0/10', '224.0.0.0/4', '203.0.113.7/32']) {
      expect(routes).toContain(`route add unreachable ${cidr}\n`)
    }
  })

  it('says how to install slirp4netns when it is missing', () => {
    const found = networkHelpers((name) => (name === 'slirp4netns' ? undefined : `/usr/bin/${name}`))
    expect(typeof found).toBe('string')
    expect(found).toMatch(/prepare\.network.*slirp4netns \(package slirp4netns\).*apt-get install slirp4netns/)
  })
})

let bwrap: SandboxBackend | undefined
try {
  bwrap = selectBackend({ sandbox: 'bwrap' })
} catch {}
const hostAddress = Object.values(networkInterfaces()).flatMap((l) => l ?? []).find((a) => a.family === 'IPv4' && !a.internal)?.address

describe.skipIf(bwrap === undefined)('prepare with network: true on bubblewrap', () => {
  it('cannot reach a server on the volunteer\'s 127.0.0.1, through slirp\'s host alias, or on the host\'s own address', async () => {
    const connections: string[] = []
    const onConnection = (socket: net.Socket): void => { connections.push(socket.remoteAddress ?? '?'); socket.end('hello\n') }
    const local = net.createServer(onConnection)
    const everywhere = net.createServer(onConnection)
    await new Promise<void>((resolve) => local.listen(0, '127.0.0.1', resolve))
    await new Promise<void>((resolve) => everywhere.listen(0, '0.0.0.0', resolve))
    try {
      const localPort = (local.address() as net.AddressInfo).port
      const openPort = (everywhere.address() as net.AddressInfo).port
      const targets = [['127.0.0.1', localPort], ['10.0.2.2', localPort], ...(hostAddress === undefined ? [] : [[hostAddress, openPort]])]
      const prepare = `import socket
for host, port in ${JSON.stringify(targets)}:
    try:
        s = socket.create_connection((host, port), timeout=5)
        print(f"PROBE {host} REACHED {s.recv(10)!r}", flush=True)
    except OSError as e:
        print(f"PROBE {host} BLOCKED {e}", flush=True)
print("ROUTES " + " ".join(line.split()[0] for line in open("/proc/net/route").read().splitlines()[1:]), flush=True)
print("RESOLV " + open("/etc/resolv.conf").read().strip(), flush=True)
${fs.readFileSync(join(TOY_DIR, 'prepare.py'), 'utf8')}`
      const manifest = toyManifest()
      manifest.prepare = { ...(manifest.prepare as NonNullable<typeof manifest.prepare>), network: true }
      const lines: string[] = []
      const r = await runTrial({
        causeDir: toyVariant({ 'prepare.py': prepare }), manifest, seed: 1, dataRoot: tempDir('ar-data-'), scratchRoot: tempDir('ar-scratch-'),
        backend: bwrap, onLine: (phase, line) => { if (phase === 'prepare') lines.push(line) }
      })
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(connections).toEqual([])
      const probes = lines.filter((l) => l.startsWith('PROBE '))
      expect(probes, lines.join('\n')).toHaveLength(targets.length)
      for (const p of probes) expect(p).toMatch(/^PROBE \S+ BLOCKED .*(Connection refused|Network is unreachable|No route to host|timed out)/)
      // It has a network of its own: slirp4netns's tap0 with a default route, and its DNS forwarder.
      expect(lines.find((l) => l.startsWith('ROUTES '))).toMatch(/tap0/)
      expect(lines).toContain('RESOLV nameserver 10.0.2.3')
      expect(r.ok, r.ok ? '' : r.logTail).toBe(true)
    } finally {
      local.close()
      everywhere.close()
    }
  })
})
