import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import { SandboxSetupError } from '../errors.ts'
import { isRoot, gpuDevices } from './bwrap.ts'
import { chownOwnTree, chownTree } from '../tree.ts'
import type { SandboxBackend, StepSpec } from '../types.ts'
import { mountPlan } from './mounts.ts'
import { runSpawned } from './spawn.ts'

const log = logger('autoresearch:runner:container')

export type ContainerEngine = 'docker' | 'podman'

export interface ContainerContext {
  engine: ContainerEngine
  /** The engine's client program (path or name). */
  program: string
  image: string
  /** Container name, so that a timeout can remove it: killing the client does not stop a container. */
  name: string
  /** uid:gid inside: the runner's own, or nobody when the runner is root. */
  user: string
  /** Where the engine writes the container id once it made the container: its absence means the engine failed, not the step. */
  cidfile?: string
}

const NOBODY = 65534

function mount (path: string, readonly: boolean, target: string): string {
  // --mount is comma-separated; the runner's scratch paths never hold one, refuse rather than mis-parse.
  if (path.includes(',') || target.includes(',')) throw new SandboxSetupError(`cannot mount a path holding a comma: ${path}`)
  return `type=bind,source=${path},target=${target}${readonly ? ',readonly' : ''}`
}

/** Runs the engine's client for a side command (stop, signal); its outcome does not matter. */
async function engineCommand (program: string, args: string[]): Promise<void> {
  await new Promise<void>((resolve) => {
    const child = spawn(program, args, { stdio: 'ignore' })
    child.once('error', () => resolve())
    child.once('exit', () => resolve())
  })
}

/** The full `docker run` / `podman run` command line for one step. */
export function containerArgs (spec: StepSpec, ctx: ContainerContext): string[] {
  const limits = spec.limits
  const plan = mountPlan(spec)
  const [entry, ...rest] = plan.command
  const args = [ctx.program, 'run', '--rm', '--init', '--name', ctx.name, ...(ctx.cidfile === undefined ? [] : ['--cidfile', ctx.cidfile]), '--pull', 'never',
    '--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--user', ctx.user,
    '--ulimit', 'core=0:0']
  // Never the engine's network: its bridge reaches the host and the private ranges (a step with network is refused in run()).
  args.push('--network', 'none')
  if (limits !== undefined) {
    if (limits.processes > 0) args.push('--pids-limit', String(limits.processes))
    // Unlike bwrap's per-process RLIMIT_DATA, this caps the whole container (cgroup), swap included.
    if (limits.memoryBytes > 0) args.push('--memory', String(limits.memoryBytes), '--memory-swap', String(limits.memoryBytes))
    if (limits.cpuSeconds > 0) args.push('--ulimit', `cpu=${Math.ceil(limits.cpuSeconds)}:${Math.ceil(limits.cpuSeconds) + 5}`)
    if (limits.fileBytes > 0) args.push('--ulimit', `fsize=${limits.fileBytes}:${limits.fileBytes}`)
  }
  if (spec.tmpDir !== undefined) args.push('--mount', mount(spec.tmpDir, false, '/tmp'))
  for (const m of plan.mounts) args.push('--mount', mount(m.host, !m.writable, m.inside))
  const devices = spec.devices ?? gpuDevices()
  if (devices.some((d) => d.startsWith('/dev/nvidia'))) {
    // Needs the NVIDIA container toolkit (docker) or its CDI spec (podman).
    args.push(...(ctx.engine === 'docker' ? ['--gpus', 'all'] : ['--device', 'nvidia.com/gpu=all']))
  }
  for (const device of devices.filter((d) => !d.startsWith('/dev/nvidia'))) args.push('--device', device)
  args.push('--workdir', plan.cwd)
  for (const [key, value] of Object.entries(plan.env)) args.push('--env', `${key}=${value}`)
  // The step's command is the entrypoint, so an image's own ENTRYPOINT cannot wrap it.
  args.push('--entrypoint', entry ?? 'false', ctx.image, ...rest)
  return args
}

/**
 * Runs each step in a fresh container of `image`: no network, read-only root, no
 * capabilities, only the step's directories mounted, pids/memory/ulimits set by the engine.
 */
export function containerBackend (engine: ContainerEngine, image: string, program: string = engine): SandboxBackend {
  return {
    name: engine,
    run: async (spec) => {
      if (spec.network === true) {
        return {
          exitCode: null, signal: null, timedOut: false, aborted: false, output: '', durationMs: 0,
          sandboxError: `prepare.network is given only by the bwrap sandbox, whose own network namespace keeps the host's loopback and private ranges out of reach; the ${engine} backend would share the engine's bridge network. Run this cause with --sandbox bwrap (package slirp4netns), or prepare its data without the network`
        }
      }
      const root = isRoot()
      const name = `autoresearch-${randomBytes(6).toString('hex')}`
      const ctx: ContainerContext = {
        engine, program, image, name, cidfile: join(tmpdir(), `${name}.cid`),
        user: root ? `${NOBODY}:${NOBODY}` : `${process.getuid?.() ?? NOBODY}:${process.getgid?.() ?? NOBODY}`
      }
      const owned = [...spec.writable, ...(spec.tmpDir === undefined ? [] : [spec.tmpDir])]
      if (root) await chownOwnTree(owned, NOBODY, NOBODY)
      const stop = async (): Promise<void> => { await engineCommand(program, ['rm', '-f', ctx.name]) }
      try {
        const term = async (): Promise<void> => { await engineCommand(program, ['kill', '--signal', 'TERM', ctx.name]) }
        const outcome = await runSpawned(spec, { argv: containerArgs(spec, ctx), stop, term, monitor: true, exitCodeIsSignal: true })
        const created = fs.existsSync(ctx.cidfile as string)
        if (!created && !outcome.timedOut && !outcome.aborted) {
          return { ...outcome, sandboxError: outcome.output.trim().split('\n').slice(-3).join(' ') || `${program} exited with ${outcome.exitCode ?? outcome.signal}` }
        }
        return outcome
      } finally {
        fs.rmSync(ctx.cidfile as string, { force: true })
        if (root && spec.handBack !== false) await chownTree(owned, 0, 0).catch((err: unknown) => { log.error('could not hand %s back: %e', owned.join(', '), err) })
      }
    }
  }
}
