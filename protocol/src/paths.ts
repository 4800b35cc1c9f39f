import { homedir } from 'node:os'
import { join } from 'node:path'

/** XDG config directory for one of our programs (keys live here, never in a cause checkout). */
export function configDir (program: string): string {
  const base = process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config')
  return join(base, 'autoresearch', program)
}

/** XDG data directory for caches, checkouts and state. */
export function dataDir (program: string): string {
  const base = process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share')
  return join(base, 'autoresearch', program)
}
