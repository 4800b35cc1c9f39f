import * as fs from 'node:fs'
import { join } from 'node:path'
import { claimPidLock } from '@autoresearch/protocol'
import { StateInUseError } from './errors.ts'

/** The lock file in a worker's state directory. */
export const STATE_LOCK = 'worker.lock'

/**
 * Claims a worker's state directory for this process: a second worker started on the same
 * `--state` (the default one, say) stops at once instead of sharing state.json, results.tsv
 * and the local repository with the first. Returns the release (also run at exit).
 */
export function lockStateDir (stateDir: string): () => void {
  fs.mkdirSync(stateDir, { recursive: true })
  const release = claimPidLock(join(stateDir, STATE_LOCK), (pid) => new StateInUseError(
    `${stateDir} is in use by another worker (process ${pid}). To run a second worker on this machine, give it its own ` +
    '--state <dir> and --identity <file> (each worker needs both: one identity per worker keeps their submissions and claims apart)'))
  const atExit = (): void => { release() }
  process.once('exit', atExit)
  return () => { process.off('exit', atExit); release() }
}
