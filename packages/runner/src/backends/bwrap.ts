import { spawnSync } from 'node:child_process'
import { randomInt } from 'node:crypto'
import * as fs from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { logger } from '@libp2p/logger'
import { chownOwnTree, chownTree } from '../tree.ts'
import type { SandboxBackend, StepLimits, StepOutcome, StepSpec } from '../types.ts'
import { INSIDE_ROOT, mountPlan } from './mounts.ts'
import { networkHelpers, openNetwork, SLIRP_DNS } from './network.ts'
import { seccompFilter } from './seccomp.ts'
import { runSpawned } from './spawn.ts'

const log = logger('autoresearch:runner:bwrap')

/** What the host offers read-only: the system, never /home, /root, /run, /var or /tmp. */
const SYSTEM_PATHS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt', '/nix']

/**
 * When the runner is root, each step runs as a fresh uid from this range: RLIMIT_NPROC is
 * not enforced for root, and a uid nobody else has makes the count per sandbox.
 */
const SANDBOX_UID_BASE = 3_900_000_000
const SANDBOX_UID_SPAN = 90_000_000

export interface BwrapOptions {
  /** Paths of the helpers; default: found on PATH. */
  bwrap?: string
  prlimit?: string
  setpriv?: string
  /** Extra host paths made visible read-only (an interpreter outside /usr, a conda env). */
  expose?: string[]
}

export interface BwrapContext {
  bwrap: string
  prlimit: string
  setpriv: string
  /** Root runs bwrap without a user namespace and drops to `uid` inside; others get a user namespace. */
  root: boolean
  uid: number
  /** The group inside when not root (default `uid`). */
  gid?: number
  expose: string[]
  /** bwrap ≥ 0.8 can forbid nested user namespaces (only together with --unshare-user). */
  disableUserns: boolean
  /** The fd from which bwrap reads the seccomp filter, when there is one. */
  seccompFd?: number
  /** The fd to which bwrap reports, as JSON, the exit code of a step it could start. */
  statusFd?: number
  /** A resolv.conf naming slirp4netns's DNS, for a step with network. */
  resolvConf?: string
}

function resolvTarget (): string {
  try {
    return fs.realpathSync('/etc/resolv.conf')
  } catch (err) {
    log('cannot resolve /etc/resolv.conf: %e', err)
    return '/etc/resolv.conf'
  }
}

function executable (path: string): boolean {
  try {
    fs.accessSync(path, fs.constants.X_OK)
    return fs.statSync(path).isFile()
  } catch (err) {
    log('%s is not an executable: %e', path, err)
    return false
  }
}

export function findProgram (name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/bin', '/usr/sbin', '/sbin']
  return dirs.filter((dir) => dir !== '').map((dir) => join(dir, name)).find(executable)
}

/** GPU device nodes present on this machine. */
export function gpuDevices (): string[] {
  let names: string[]
  try {
    names = fs.readdirSync('/dev')
  } catch (err) {
    log.error('cannot list /dev: %e', err)
    return []
  }
  return names.filter((n) => n.startsWith('nvidia') || n === 'dri' || n === 'kfd').sort().map((n) => `/dev/${n}`)
}

export function prlimitArgs (limits: StepLimits | undefined): string[] {
  if (limits === undefined) return ['--core=0:0']
  const args = ['--core=0:0']
  if (limits.processes > 0) args.push(`--nproc=${limits.processes}:${limits.processes}`)
  if (limits.memoryBytes > 0) args.push(`--data=${limits.memoryBytes}:${limits.memoryBytes}`)
  // The soft limit sends SIGXCPU, which a step can catch; the hard one kills.
  if (limits.cpuSeconds > 0) args.push(`--cpu=${Math.ceil(limits.cpuSeconds)}:${Math.ceil(limits.cpuSeconds) + 5}`)
  if (limits.fileBytes > 0) args.push(`--fsize=${limits.fileBytes}:${limits.fileBytes}`)
  return args
}

const under = (path: string, dir: string): boolean => path === dir || path.startsWith(`${dir}/`)

/** The full bwrap command line for one step, and the environment it runs with. */
export function bwrapArgs (spec: StepSpec, ctx: BwrapContext): { argv: string[], env: Record<string, string> } {
  const network = spec.network === true
  const devices = spec.devices ?? gpuDevices()
  const plan = mountPlan(spec)
  const args = [ctx.bwrap, '--die-with-parent', '--new-session']
  // A step with network keeps the namespace it starts in: the one network.ts made for it, never the host's.
  if (ctx.root) {
    args.push('--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try')
    if (!network) args.push('--unshare-net')
  } else {
    // The runner's own ids, also when bwrap starts in a trial disk's user namespace (where the runner is uid 0, with capabilities).
    args.push('--unshare-all', '--unshare-user', '--uid', String(ctx.uid), '--gid', String(ctx.gid ?? ctx.uid))
    if (network) args.push('--share-net')
    if (ctx.disableUserns) args.push('--disable-userns')
  }
  args.push('--hostname', 'sandbox')
  for (const path of SYSTEM_PATHS) {
    let target: string | undefined
    try {
      target = fs.lstatSync(path).isSymbolicLink() ? fs.readlinkSync(path) : undefined
    } catch (err) {
      log('%s is not on this system: %e', path, err)
      continue
    }
    // A merged-/usr link stays a link, so the same tree is not mounted twice.
    if (target !== undefined) args.push('--symlink', target, path)
    else args.push('--ro-bind', path, path)
  }
  const made = new Set<string>()
  for (const helper of [ctx.prlimit, ...(ctx.root ? [ctx.setpriv] : []), ...ctx.expose]) {
    if (SYSTEM_PATHS.some((dir) => under(helper, dir))) continue
    // As root bwrap makes missing parents 0700, which the step's uid could not pass.
    const parents: string[] = []
    for (let dir = dirname(helper); dir !== '/' && !made.has(dir); dir = dirname(dir)) parents.unshift(dir)
    for (const dir of parents) { made.add(dir); args.push('--perms', '0755', '--dir', dir) }
    made.add(helper)
    args.push('--ro-bind', helper, helper)
  }
  args.push('--proc', '/proc', '--dev', '/dev')
  for (const device of devices) args.push('--dev-bind-try', device, device)
  // CUDA and NVML look up the devices in /sys.
  if (devices.length > 0) args.push('--ro-bind-try', '/sys', '/sys')
  // slirp4netns's DNS forwarder, wherever the host's resolv.conf really lives (systemd's stub under /run is not mounted).
  if (network && ctx.resolvConf !== undefined) args.push('--ro-bind', ctx.resolvConf, resolvTarget())
  if (spec.tmpDir !== undefined) args.push('--bind', spec.tmpDir, '/tmp', '--bind', spec.tmpDir, '/dev/shm')
  // bwrap makes missing parents 0700 when run as root; the step's uid must pass through.
  args.push('--perms', '0755', '--dir', INSIDE_ROOT)
  for (const m of plan.mounts) args.push(m.writable ? '--bind' : '--ro-bind', m.host, m.inside)
  args.push('--chdir', plan.cwd)
  if (ctx.seccompFd !== undefined) args.push('--seccomp', String(ctx.seccompFd))
  if (ctx.statusFd !== undefined) args.push('--json-status-fd', String(ctx.statusFd))

  if (ctx.root) args.push('--cap-add', 'CAP_SETUID', '--cap-add', 'CAP_SETGID')
  args.push('--')
  // The kernel clears every capability when all uids become non-zero; --inh-caps drops the inheritable set too.
  if (ctx.root) args.push(ctx.setpriv, `--reuid=${ctx.uid}`, `--regid=${ctx.uid}`, '--clear-groups', '--inh-caps=-all', '--')
  args.push(ctx.prlimit, ...prlimitArgs(spec.limits), '--', ...plan.command)
  return { argv: args, env: plan.env }
}

export interface BwrapHelpers { bwrap: string, prlimit: string, setpriv: string }

/** The helpers this backend needs, or what is missing. */
export function bwrapHelpers (opts: BwrapOptions = {}): BwrapHelpers | { missing: string[] } {
  const given = (path: string | undefined, name: string): string | undefined => (path === undefined ? findProgram(name) : executable(path) ? path : undefined)
  const bwrap = given(opts.bwrap, 'bwrap')
  const prlimit = given(opts.prlimit, 'prlimit')
  const setpriv = given(opts.setpriv, 'setpriv')
  const missing = [
    ...(bwrap === undefined ? ['bwrap (package bubblewrap)'] : []),
    ...(prlimit === undefined ? ['prlimit (package util-linux)'] : []),
    ...(setpriv === undefined && isRoot() ? ['setpriv (package util-linux)'] : [])
  ]
  if (bwrap === undefined || prlimit === undefined || missing.length > 0) return { missing }
  // Without root no setpriv is run.
  return { bwrap, prlimit, setpriv: setpriv ?? '' }
}

export function isRoot (): boolean {
  return process.getuid?.() === 0
}

const disableUsernsKnown = new Map<string, boolean>()

function supportsDisableUserns (bwrap: string): boolean {
  let known = disableUsernsKnown.get(bwrap)
  if (known === undefined) {
    known = spawnHelp(bwrap).includes('--disable-userns')
    disableUsernsKnown.set(bwrap, known)
  }
  return known
}

function spawnHelp (bwrap: string): string {
  const r = spawnSync(bwrap, ['--help'], { encoding: 'utf8', timeout: 10_000 })
  return `${r.stdout ?? ''}${r.stderr ?? ''}`
}

export function bwrapContext (helpers: BwrapHelpers, opts: BwrapOptions = {}, seccompFd?: number): BwrapContext {
  const root = isRoot()
  return {
    ...helpers,
    root,
    uid: root ? SANDBOX_UID_BASE + randomInt(SANDBOX_UID_SPAN) : process.getuid?.() ?? 0,
    gid: root ? undefined : process.getgid?.() ?? 0,
    expose: opts.expose ?? [],
    disableUserns: !root && supportsDisableUserns(helpers.bwrap),
    seccompFd: SECCOMP === undefined ? undefined : seccompFd
  }
}

const SECCOMP = seccompFilter()

/**
 * Runs each step in a bubblewrap sandbox: new pid, network, ipc and uts namespaces, the
 * system read-only, only the step's own directories visible, limits set by prlimit inside.
 * Killing bwrap ends its pid namespace, so nothing the step started outlives it.
 */
export function bwrapBackend (helpers: BwrapHelpers, opts: BwrapOptions = {}): SandboxBackend {
  return {
    name: 'bwrap',
    entersDisk: true,
    run: async (spec) => {
      const ctx = bwrapContext(helpers, opts, 3)
      const refused = (sandboxError: string): StepOutcome => ({ exitCode: null, signal: null, timedOut: false, aborted: false, output: '', durationMs: 0, sandboxError })
      let network: Awaited<ReturnType<typeof openNetwork>> | undefined
      if (spec.network === true) {
        const found = networkHelpers()
        if (typeof found === 'string') return refused(found)
        try {
          network = await openNetwork(helpers.bwrap, found)
        } catch (err) {
          return refused(`could not give the step its network: ${(err as Error).message}`)
        }
      }
      const view = spec.disk?.view ?? ((p: string) => p)
      const owned = [...spec.writable, ...(spec.tmpDir === undefined ? [] : [spec.tmpDir])].map(view)
      const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }
      if (ctx.root) await chownOwnTree(owned, ctx.uid, ctx.uid)
      let resolvDir: string | undefined
      try {
        if (network !== undefined) {
          resolvDir = fs.mkdtempSync(join(tmpdir(), 'autoresearch-resolv-'))
          fs.writeFileSync(join(resolvDir, 'resolv.conf'), `nameserver ${SLIRP_DNS}\n`, { mode: 0o644 })
          fs.chmodSync(resolvDir, 0o755)
        }
        const { argv, env } = bwrapArgs(spec, { ...ctx, statusFd: 4, resolvConf: resolvDir === undefined ? undefined : join(resolvDir, 'resolv.conf') })
        const enter = [...(network?.enter ?? []), ...(spec.disk?.enter ?? [])]
        const { status, ...outcome } = await runSpawned(spec, { argv: [...enter, ...argv], cwd: enter.length > 0 ? '/' : undefined, env, exitCodeIsSignal: true, fd3: SECCOMP ?? Buffer.alloc(0), readFd4: true, monitor: true })
        // bwrap reports an exit code only for a step it started; without one, its own setup failed.
        if (!outcome.timedOut && !outcome.aborted && !/"exit-code"/.test(status ?? '')) {
          return { ...outcome, sandboxError: outcome.output.trim().split('\n').slice(-3).join(' ') || `bwrap exited with ${outcome.exitCode ?? outcome.signal}` }
        }
        return outcome
      } finally {
        await network?.close()
        if (resolvDir !== undefined) fs.rmSync(resolvDir, { recursive: true, force: true })
        // Every process of the step has ended: hand its files back to the runner.
        if (ctx.root && spec.handBack !== false) await chownTree(owned, me.uid, me.gid).catch((err: unknown) => { log.error('could not hand %s back: %e', owned.join(', '), err) })
      }
    }
  }
}
