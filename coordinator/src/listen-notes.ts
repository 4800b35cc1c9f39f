const LOOPBACK = /^(127\.|::1$|localhost$)/
const EVERYWHERE = /^(0\.0\.0\.0|::)$/

function reach (host: string): 'loopback' | 'everywhere' | 'interface' {
  return LOOPBACK.test(host) ? 'loopback' : EVERYWHERE.test(host) ? 'everywhere' : 'interface'
}

/** The host part of a multiaddr such as /ip4/127.0.0.1/tcp/4001 or /dns4/example.org/tcp/4001. */
function hostOf (address: string): string {
  return /^\/(?:ip[46]|dns[46]?)\/([^/]+)/.exec(address)?.[1] ?? address
}

/** The lines `serve` prints about who can reach it, so that neither a closed nor an open port surprises the host. */
export function listenNotes (listen: string[], httpHost: string): string[] {
  const p2p = listen.map((a) => reach(hostOf(a)))
  const notes: string[] = []
  if (p2p.every((r) => r === 'loopback')) notes.push('libp2p listens on loopback only: workers and verifiers on other machines cannot join; to let them, serve with --listen /ip4/0.0.0.0/tcp/4001 (all interfaces) or an interface\'s address')
  else if (p2p.includes('everywhere')) notes.push('libp2p listens on all interfaces: anyone who can reach this machine can connect (see docs/coordinator.md, Connections from strangers)')
  const http = reach(httpHost)
  if (http === 'loopback') notes.push('the site and API answer on loopback only (--http-host 0.0.0.0 opens them to other machines)')
  else if (http === 'everywhere') notes.push('the site and API answer on all interfaces')
  return notes
}
