import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { logger } from '@libp2p/logger'
import { GitBusy, GitTimedOut, GitUnavailable, BadGitRequest } from './errors.ts'
import { SERVED_REFS, type GitHttpLimits } from './request.ts'

const log = logger('autoresearch:coordinator:git-http')

/** The first `git` on `path` that may be run, or undefined. */
export function findGit (path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, 'git')
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {}
  }
  return undefined
}

/**
 * Every ref hidden but the served ones, so a ref added to the home later (or one an
 * operator wrote) is not published by accident; HEAD still names refs/heads/best.
 */
const HIDE_REFS = ['uploadpack.hideRefs=refs', ...SERVED_REFS.map((ref) => `uploadpack.hideRefs=!${ref}`)].flatMap((c) => ['-c', c])

/**
 * Runs the host's `git upload-pack --stateless-rpc` on the cause's bare repository, one
 * child per request, at most `maxConcurrent` at once, each killed past `timeoutSeconds`
 * or when its client goes away. Git itself packs (with deltas), negotiates and speaks
 * protocol v0, v1 and v2.
 */
export class UploadPack {
  readonly #gitdir: string
  readonly #limits: GitHttpLimits
  readonly #git: () => string | undefined
  #running = 0

  constructor (gitdir: string, limits: GitHttpLimits, git: () => string | undefined = findGit) {
    this.#gitdir = gitdir
    this.#limits = limits
    this.#git = git
  }

  /** The ref advertisement (small: read whole, so a failure is still an error status). */
  async advertise (gitProtocol: string | undefined, signal: AbortSignal): Promise<Buffer> {
    const { stdout, exited } = this.#spawn(['--advertise-refs'], gitProtocol, signal)
    const chunks: Buffer[] = []
    for await (const chunk of stdout) chunks.push(chunk as Buffer)
    const { code, timedOut } = await exited
    if (timedOut) throw new GitTimedOut(this.#limits.timeoutSeconds)
    if (code !== 0) throw new Error(`git upload-pack --advertise-refs exited with ${code}`)
    return Buffer.concat(chunks)
  }

  /**
   * Feeds one request to upload-pack and streams its answer. Resolves once the first
   * bytes are out (or upload-pack refused the request, answered as 400); a timeout or a
   * client gone after that ends the stream early, which the client reports.
   */
  async serve (request: Buffer, gitProtocol: string | undefined, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    const { child, stdout, exited, kill } = this.#spawn([], gitProtocol, signal)
    child.stdin.on('error', (err) => { log('upload-pack stdin: %e', err) })
    child.stdin.end(request)
    const chunks = stdout[Symbol.asyncIterator]() as AsyncIterator<Buffer>
    const first = await chunks.next()
    if (first.done === true) {
      const { code, timedOut, stderr } = await exited
      if (timedOut) throw new GitTimedOut(this.#limits.timeoutSeconds)
      if (code !== 0) throw new BadGitRequest(`git-upload-pack refused the request${stderr === '' ? '' : `: ${stderr}`}`)
    }
    return new ReadableStream<Uint8Array>({
      start (controller) {
        if (first.done === true) controller.close()
        else controller.enqueue(new Uint8Array(first.value))
      },
      async pull (controller) {
        try {
          const next = await chunks.next()
          if (next.done === true) controller.close()
          else controller.enqueue(new Uint8Array(next.value))
        } catch (err) {
          controller.error(err)
        }
      },
      cancel () { kill() }
    })
  }

  #spawn (args: string[], gitProtocol: string | undefined, signal: AbortSignal): {
    child: ChildProcessByStdio<Writable, Readable, Readable>
    stdout: Readable
    exited: Promise<{ code: number | null, timedOut: boolean, stderr: string }>
    kill: () => void
  } {
    const git = this.#git()
    if (git === undefined) throw new GitUnavailable()
    const { maxConcurrent, timeoutSeconds } = this.#limits
    if (this.#running >= maxConcurrent) throw new GitBusy(5)
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '',
      // Neither the host's nor the operator's git configuration changes what is served.
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      HOME: this.#gitdir,
      LC_ALL: 'C',
      ...(gitProtocol === undefined ? {} : { GIT_PROTOCOL: gitProtocol })
    }
    const child = spawn(git, [...HIDE_REFS, 'upload-pack', '--stateless-rpc', '--strict', `--timeout=${timeoutSeconds}`, ...args, this.#gitdir], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    this.#running++
    let timedOut = false
    const kill = (): void => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') }
    const timer = setTimeout(() => { timedOut = true; kill() }, timeoutSeconds * 1000)
    const onAbort = (): void => { kill() }
    signal.addEventListener('abort', onAbort, { once: true })
    let stderr = ''
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (text: string) => { if (stderr.length < 2000) stderr += text })
    const exited = new Promise<{ code: number | null, timedOut: boolean, stderr: string }>((resolve) => {
      let settled = false
      const done = (code: number | null): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        this.#running--
        if (code !== 0) log('git upload-pack exited with %s%s: %s', code, timedOut ? ' (timed out)' : '', stderr.trim())
        // The first line only, and never the home's path: it goes to a stranger.
        resolve({ code, timedOut, stderr: (stderr.trim().split('\n')[0] ?? '').replaceAll(this.#gitdir, 'cause.git') })
      }
      child.once('error', (err) => { log.error('git upload-pack could not run: %e', err); done(null) })
      child.once('close', done)
    })
    if (signal.aborted) kill()
    return { child, stdout: child.stdout, exited, kill }
  }
}
