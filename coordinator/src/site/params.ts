import type { Coordinator } from '../coordinator.ts'

/** A candidate number in a path or query: 1 or more, no sign, no leading zero. */
export const seqParam = (s: string): number | undefined => /^[1-9][0-9]{0,14}$/.test(s) ? Number(s) : undefined
export const oidParam = (s: string): string | undefined => /^[0-9a-f]{40}$/.test(s) ? s : undefined
/** A position in a log (an experiment's seq, or 0 for its start): 0 or more, no sign, no leading zero. */
export const positionParam = (s: string): number | undefined => /^(0|[1-9][0-9]{0,14})$/.test(s) ? Number(s) : undefined

/** The address a volunteer should dial: one with a peer id that is not loopback, if there is one. */
export function joinAddress (multiaddrs: string[]): string | undefined {
  const withPeer = multiaddrs.filter((a) => a.includes('/p2p/'))
  const outside = withPeer.filter((a) => !/^\/ip4\/127\.|^\/ip6\/::1\//.test(a))
  return outside[0] ?? withPeer[0] ?? multiaddrs[0]
}

/** The command that joins this cause as a worker, and every address the coordinator listens on. */
export function joinInfo (coordinator: Pick<Coordinator, 'status'>): { line: string, multiaddrs: string[] } {
  const multiaddrs = coordinator.status().multiaddrs
  return { line: `npx autoresearch-worker --coordinator ${joinAddress(multiaddrs) ?? '<multiaddr>'}`, multiaddrs }
}
