import { spawnSync } from 'node:child_process'
import { UsageError } from '@autoresearch/protocol'
import { bwrapArgs, bwrapBackend, bwrapContext, bwrapHelpers, findProgram, type BwrapHelpers } from './backends/bwrap.ts'
import { seccompFilter } from './backends/seccomp.ts'
import { containerBackend, type ContainerEngine } from './backends/container.ts'
import { noneBackend } from './backends/none.ts'
import type { SandboxBackend } from './types.ts'

export type SandboxKind = 'bwrap' | 'docker' | 'podman' | 'none'

export const SANDBOX_KINDS: readonly SandboxKind[] = ['bwrap', 'docker', 'podman', 'none']

export interface SelectBackendOptions {
  /** Which sandbox; default: bubblewrap, else a container engine when an image is given. */
  sandbox?: SandboxKind
  /** Image for docker/podman (from the manifest or the command line). */
  image?: string
  /** Fall back to running unsandboxed when no sandbox works (default false: refuse). */
  allowUnsandboxed?: boolean
  /** Extra host paths bubblewrap shows read-only (an interpreter outside /usr). */
  expose?: string[]
  /** Path of bwrap; default: found on PATH. */
  bwrap?: string
  /** Where the none backend's warning goes (default: stderr). */
  warn?: (message: string) => void
}

const HOW_TO_INSTALL = 'Install bubblewrap (Debian/Ubuntu: `sudo apt-get install bubblewrap`; Fedora: `sudo dnf install bubblewrap`), ' +
  'or use a container engine with `--sandbox docker --image IMAGE`, ' +
  'or, only for code you trust, pass `--sandbox none` to run without a sandbox.'

/** No usable sandbox: the message says why and how to get one. */
export class SandboxUnavailableError extends UsageError {
  override name = 'SandboxUnavailableError'
  constructor (readonly reason: string) {
    super(`no sandbox available: ${reason.replace(/[.\s]+$/, '')}. ${HOW_TO_INSTALL}`)
  }
}

const probes = new Map<string, string | null>()

/** Runs `true` the way a step runs, once per process; null when it works, else why not. */
export function probeBwrap (helpers: BwrapHelpers): string | null {
  const key = `bwrap:${helpers.bwrap}`
  const cached = probes.get(key)
  if (cached !== undefined) return cached
  // The filter comes on stdin here, on fd 3 in real steps; the status goes to stdout.
  const ctx = { ...bwrapContext(helpers, {}, 0), statusFd: 1 }
  const { argv } = bwrapArgs({ command: ['true'], cwd: '/', env: {}, timeoutMs: 10_000, writable: [], readOnly: [], maxOutputBytes: 0, devices: [], limits: { cpuSeconds: 10, memoryBytes: 0, processes: 64, fileBytes: 0 } }, ctx)
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', timeout: 10_000, env: { PATH: '/usr/bin:/bin' }, cwd: '/', input: seccompFilter() ?? Buffer.alloc(0) })
  let result: string | null = null
  // EPIPE: it exited without reading the filter, which its status explains.
  if (r.error !== undefined && (r.error as NodeJS.ErrnoException).code !== 'EPIPE') result = `${helpers.bwrap} could not run: ${r.error.message}`
  else if (r.status !== 0) {
    const why = (r.stderr ?? '').trim().split('\n').slice(-3).join(' ') || `exit status ${r.status ?? r.signal}`
    result = `bubblewrap (≥ 0.5 needed) cannot create its sandbox here (${why}); ` +
      'on Ubuntu ≥ 23.10 allow it with an AppArmor profile for bwrap or `sysctl kernel.apparmor_restrict_unprivileged_userns=0`; ' +
      'elsewhere check `sysctl user.max_user_namespaces` and `kernel.unprivileged_userns_clone`, and that no container runtime forbids namespaces'
  }
  probes.set(key, result)
  return result
}

/** Whether the container engine answers; null when it does, else why not. */
export function probeEngine (engine: ContainerEngine, program: string): string | null {
  const key = `${engine}:${program}`
  const cached = probes.get(key)
  if (cached !== undefined) return cached
  const r = spawnSync(program, ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8', timeout: 20_000 })
  let result: string | null = null
  if (r.error !== undefined) result = `${engine} is not installed (${r.error.message})`
  else if (r.status !== 0) result = `${engine} is installed but its engine does not answer: ${(r.stderr ?? '').trim().split('\n')[0] ?? `exit status ${r.status}`}`
  probes.set(key, result)
  return result
}

function bwrapOrWhyNot (opts: SelectBackendOptions): SandboxBackend | string {
  if (process.platform !== 'linux') return 'bubblewrap needs Linux'
  const helpers = bwrapHelpers({ bwrap: opts.bwrap })
  if ('missing' in helpers) return `missing ${helpers.missing.join(', ')}`
  const why = probeBwrap(helpers)
  return why ?? bwrapBackend(helpers, { expose: opts.expose })
}

function engineOrWhyNot (engine: ContainerEngine, image: string | undefined): SandboxBackend | string {
  if (image === undefined || image === '') return `the ${engine} sandbox needs an image (--image, or "sandbox.image" in the manifest)`
  const program = findProgram(engine) ?? engine
  return probeEngine(engine, program) ?? containerBackend(engine, image, program)
}

function unsandboxed (opts: SelectBackendOptions): SandboxBackend {
  return noneBackend({ warn: opts.warn ?? ((message) => { process.stderr.write(`autoresearch: ${message}\n`) }) })
}

/**
 * The backend to run candidate code with. `none` only when asked for by name or allowed as
 * a fallback, and then it warns on every step. Throws SandboxUnavailableError otherwise.
 */
export function selectBackend (opts: SelectBackendOptions = {}): SandboxBackend {
  const named = (found: SandboxBackend | string): SandboxBackend => {
    if (typeof found === 'string') throw new SandboxUnavailableError(found)
    return found
  }
  switch (opts.sandbox) {
    case 'none': return unsandboxed(opts)
    case 'bwrap': return named(bwrapOrWhyNot(opts))
    case 'docker':
    case 'podman': return named(engineOrWhyNot(opts.sandbox, opts.image))
    case undefined: {
      const bwrap = bwrapOrWhyNot(opts)
      if (typeof bwrap !== 'string') return bwrap
      const reasons = [bwrap]
      if (opts.image !== undefined) {
        for (const engine of ['docker', 'podman'] as const) {
          const found = engineOrWhyNot(engine, opts.image)
          if (typeof found !== 'string') return found
          reasons.push(found)
        }
      }
      if (opts.allowUnsandboxed === true) return unsandboxed(opts)
      throw new SandboxUnavailableError(reasons.join('; '))
    }
    default: throw new SandboxUnavailableError(`unknown sandbox "${String(opts.sandbox)}" (choose ${SANDBOX_KINDS.join(', ')})`)
  }
}
