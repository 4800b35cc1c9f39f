/**
 * What the demo needs before it starts anything: the system packages (installed by the
 * script `.ci/run` uses too, when it can) and a sandbox that works here.
 */
// Only the errors module, not the protocol's barrel: a missing package is reported before
// libp2p and the rest load (seconds on a small machine).
import { UsageError } from '../protocol/src/errors.ts'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

/** A system package the demo needs is missing and could not be installed here. */
export class DemoSetupError extends UsageError { override name = 'DemoSetupError' }

/**
 * Installs the demo's missing packages (python3, bubblewrap) with `scripts/system-packages.sh`
 * unless `install` is false, then runs the runner's own sandbox check (bubblewrap can make
 * its namespaces here). Throws DemoSetupError or the runner's SandboxUnavailableError.
 */
export async function ensurePrerequisites (root: string, opts: { install: boolean, say: (line: string) => void }): Promise<void> {
  const script = join(root, 'scripts', 'system-packages.sh')
  const args = [script, ...(opts.install ? [] : ['--check']), 'demo']
  const lines: string[] = []
  const show = (line: string): void => { lines.push(line); opts.say(line) }
  const exit = await new Promise<{ code: number | null, error?: Error }>((resolve) => {
    const child = spawn('bash', args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    createInterface({ input: child.stdout }).on('line', show)
    createInterface({ input: child.stderr }).on('line', show)
    child.once('error', (error) => { resolve({ code: null, error }) })
    child.once('close', (code) => { resolve({ code }) })
  })
  if (exit.error !== undefined) throw new DemoSetupError(`cannot run ${script} (${exit.error.message}): bash is needed to check the system packages`)
  if (exit.code !== 0) throw new DemoSetupError(setupFailure(lines))
  const { selectBackend } = await import('@autoresearch/runner')
  selectBackend({ sandbox: 'bwrap' })
}

/** The script's own words, in one line: which packages, why they were not installed, the fix. */
function setupFailure (lines: string[]): string {
  const missing = lines.flatMap((l) => /^system-packages: (\S+) is missing:/.exec(l)?.[1] ?? [])
  const why = lines.flatMap((l) => /^system-packages: not installing: (.+)$/.exec(l)?.[1] ?? [])[0]
  const fix = lines.flatMap((l) => /run (`[^`]+`)/.exec(l)?.[1] ?? [])[0]
  if (missing.length === 0 || fix === undefined) return `installing the system packages failed (see the [setup] lines above); ${fix === undefined ? 'install python3 and bubblewrap' : `run ${fix}`}, then run the demo again`
  return `${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} missing${why === undefined ? '' : ` (not installed: ${why})`}: run ${fix}, then run the demo again`
}
