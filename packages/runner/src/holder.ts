import { spawn } from 'node:child_process'
import { SandboxSetupError } from './errors.ts'
import { isRoot } from './backends/bwrap.ts'

/**
 * A process that holds namespaces for the runner (a trial's capped disk, a step's network):
 * bubblewrap makes them, in a user namespace of their own when the runner is not root, and
 * dies with the runner (--die-with-parent). Steps join them with nsenter through `enter`;
 * ending the holder ends the namespaces once the steps in them are gone.
 */
export interface Holder {
  pid: number
  /** nsenter's options that join the holder's user namespace, when it has one. */
  userns: string[]
  end: () => Promise<void>
}

const READY_MS = 15_000

/** Starts `script` (sh) in bwrap with `unshare` (bwrap options), after which it prints `ready <pid>` and sleeps. */
export async function startHolder (bwrap: string, unshare: string[], script: string, scriptArgs: string[]): Promise<Holder> {
  const root = isRoot()
  // bwrap maps uid 0 in its user namespace to the runner, with the capabilities to mount a tmpfs or set routes.
  const args = ['--die-with-parent', ...unshare, ...(root ? [] : ['--unshare-user', '--uid', '0', '--gid', '0']), '--dev-bind', '/', '/',
    '--', 'sh', '-c', `${script}\necho "ready $$"\nexec sleep infinity\n`, 'sh', ...scriptArgs]
  const holder = spawn(bwrap, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } })
  let said = ''
  const pid = await new Promise<number | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), READY_MS)
    const onData = (chunk: Buffer): void => {
      if (said.length < 4096) said += chunk.toString('utf8')
      const m = /^ready ([0-9]+)$/m.exec(said)
      if (m !== null) { clearTimeout(timer); resolve(Number(m[1])) }
    }
    holder.stdout.on('data', onData)
    holder.stderr.on('data', onData)
    holder.once('error', () => { clearTimeout(timer); resolve(undefined) })
    holder.once('exit', () => { clearTimeout(timer); resolve(undefined) })
  })
  const end = async (): Promise<void> => {
    if (holder.exitCode !== null || holder.signalCode !== null) return
    const gone = new Promise<void>((resolve) => holder.once('exit', () => resolve()))
    holder.kill('SIGKILL')
    await gone
  }
  if (pid === undefined) {
    await end()
    throw new SandboxSetupError(said.trim().split('\n').slice(-2).join(' ') || 'bwrap gave no answer')
  }
  return { pid, userns: root ? [] : ['--user', '--preserve-credentials'], end }
}
