import { logger } from '@libp2p/logger'

const debug = logger('autoresearch:runner:signal')

/**
 * Sends `signal` to a process, or to a process group when `pid` is negative. False only when
 * no such process (or group) is left, zombies included: a tree that has just ended is not an
 * error, so no caller needs its own try.
 */
export function kill (pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal)
    return true
  } catch (err) {
    debug('could not send %s to %d: %e', signal, pid, err)
    return (err as NodeJS.ErrnoException).code !== 'ESRCH'
  }
}
