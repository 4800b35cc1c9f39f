import type { SandboxBackend } from '../types.ts'
import { runSpawned } from './spawn.ts'

export interface NoneBackendOptions {
  /** Called before every step; selectBackend() passes a printer so that an unsandboxed run always says so. */
  warn?: (message: string) => void
}

/**
 * Runs steps as plain child processes: no isolation beyond a scrubbed environment and
 * a process group that is killed as a whole. Only for trusted code or explicit opt-in.
 */
export function noneBackend (opts: NoneBackendOptions = {}): SandboxBackend {
  return {
    name: 'none',
    entersDisk: true,
    run: async (spec) => {
      opts.warn?.(`WARNING: running \`${spec.command.join(' ')}\` WITHOUT A SANDBOX (--sandbox none): it can read your files and keys, use the network and fill your disk`)
      if (spec.disk === undefined) return await runSpawned(spec, { argv: spec.command })
      // nsenter would resolve its --wd before entering: env changes directory inside.
      return await runSpawned(spec, { argv: [...spec.disk.enter, 'env', `--chdir=${spec.cwd}`, '--', ...spec.command], cwd: '/' })
    }
  }
}
