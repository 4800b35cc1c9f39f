import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { logger } from '@libp2p/logger'
import { BadGitRequest, GitStalled, GitTimedOut, GitUnavailable } from './errors.ts'
import { SERVED_REFS, type GitHttpLimits } from './request.ts'
import { UploadPackSlots } from './slots.ts'

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

/** Who a run is for and when its client is gone. */
export interface RunOptions {
  /** The client's key (its address), for its share of the slots. */
  client: string
  signal: AbortSignal
}

/** Why a run was stopped, if it was. */
type Stopped = 'timeout' | 'idle' | undefined

interface Run {
  child: ChildProcessByStdio<Writable, Readable, Readable>
  stdout: Readable
  exited: Promise<{ code: number | null, stopped: Stopped, stderr: string }>
  /** Bytes moved: the idle clock starts again. */
  moved: () => void
  /** Kills the child and drops what it wrote that nobody read, so that its slot is freed at once. */
  end: () => void
}

/**
 * Runs the host's `git upload-pack --stateless-rpc` on the cause's bare repository, one
 * child per request, in a slot of UploadPackSlots (so many at once, so many per client),
 * each killed past `timeoutSeconds`, after `idleSeconds` without a byte moved, or when its
 * client goes away. Git itself packs (with deltas), negotiates and speaks protocol v0, v1 and v2.
 */
export class UploadPack {
  readonly #gitdir: string
  readonly #limits: GitHttpLimits
  readonly #git: () => string | undefined
  readonly #slots: UploadPackSlots

  constructor (gitdir: string, limits: GitHttpLimits, git: () => string | undefined = findGit) {
    this.#gitdir = gitdir
    this.#limits = limits
    this.#git = git
    this.#slots = new UploadPackSlots(limits.maxConcurrent, limits.maxPerClient)
  }

  /** The ref advertisement (small: read whole, so a failure is still an error status). */
  async advertise (gitProtocol: string | undefined, opts: RunOptions): Promise<Buffer> {
    const { stdout, exited, moved } = this.#spawn(['--advertise-refs'], gitProtocol, opts)
    const chunks: Buffer[] = []
    try {
      for await (const chunk of stdout) { chunks.push(chunk as Buffer); moved() }
    } catch (err) {
      throw await this.#whyEnded(exited, err)
    }
    const { code, stopped } = await exited
    this.#throwIfStopped(stopped)
    if (code !== 0) throw new Error(`git upload-pack --advertise-refs exited with ${code}`)
    return Buffer.concat(chunks)
  }

  /**
   * Feeds one request to upload-pack and streams its answer. Resolves once the first
   * bytes are out (or upload-pack refused the request, answered as 400); a timeout, an idle
   * answer or a client gone after that ends the stream early, which the client reports.
   * Only bytes the client takes count as moved: the HTTP server pulls a chunk once the
   * socket has drained the last, so a client that stops reading stops the pulls.
   */
  async serve (request: Buffer, gitProtocol: string | undefined, opts: RunOptions): Promise<ReadableStream<Uint8Array>> {
    const { child, stdout, exited, moved, end } = this.#spawn([], gitProtocol, opts)
    child.stdin.on('error', (err) => { log('upload-pack stdin: %e', err) })
    child.stdin.end(request)
    const chunks = stdout[Symbol.asyncIterator]() as AsyncIterator<Buffer>
    const first = await chunks.next().catch(async (err: unknown) => { throw await this.#whyEnded(exited, err) })
    if (first.done === true) {
      const { code, stopped, stderr } = await exited
      this.#throwIfStopped(stopped)
      if (code !== 0) throw new BadGitRequest(`git-upload-pack refused the request${stderr === '' ? '' : `: ${stderr}`}`)
    }
    moved()
    return new ReadableStream<Uint8Array>({
      start (controller) {
        if (first.done === true) controller.close()
        else controller.enqueue(new Uint8Array(first.value))
      },
      async pull (controller) {
        try {
          const next = await chunks.next()
          if (next.done === true) controller.close()
          else { controller.enqueue(new Uint8Array(next.value)); moved() }
        } catch (err) {
          controller.error(err)
        }
      },
      cancel () { end() }
    })
  }

  /** What to throw when reading stopped early: why the run was stopped, else what reading threw. */
  async #whyEnded (exited: Run['exited'], err: unknown): Promise<unknown> {
    this.#throwIfStopped((await exited).stopped)
    return err
  }

  #throwIfStopped (stopped: Stopped): void {
    if (stopped === 'timeout') throw new GitTimedOut(this.#limits.timeoutSeconds)
    if (stopped === 'idle') throw new GitStalled(this.#limits.idleSeconds)
  }

  #spawn (args: string[], gitProtocol: string | undefined, { client, signal }: RunOptions): Run {
    const git = this.#git()
    if (git === undefined) throw new GitUnavailable()
    const { timeoutSeconds, idleSeconds } = this.#limits
    const release = this.#slots.take(client)
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '',
      // Neither the host's nor the operator's git configuration changes what is served.
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      HOME: this.#gitdir,
      LC_ALL: 'C',
      ...(gitProtocol === undefined ? {} : { GIT_PROTOCOL: gitProtocol })
    }
    let child: ChildProcessByStdio<Writable, Readable, Readable>
    try {
      child = spawn(git, [...HIDE_REFS, 'upload-pack', '--stateless-rpc', '--strict', `--timeout=${Math.ceil(timeoutSeconds)}`, ...args, this.#gitdir], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    } catch (err) {
      release()
      throw err
    }
    let stopped: Stopped
    // Output left unread would keep stdout, and so the child's 'close', open for good.
    const end = (): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      child.stdout.destroy()
    }
    const stop = (why: Stopped): void => { stopped ??= why; end() }
    const timer = setTimeout(() => { stop('timeout') }, timeoutSeconds * 1000)
    const idle = setTimeout(() => { stop('idle') }, idleSeconds * 1000)
    const onAbort = (): void => { end() }
    signal.addEventListener('abort', onAbort, { once: true })
    let stderr = ''
    // Once the child is gone, bytes still buffered may be pulled: they must not start the idle clock again.
    let settled = false
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (text: string) => { if (stderr.length < 2000) stderr += text })
    const exited = new Promise<{ code: number | null, stopped: Stopped, stderr: string }>((resolve) => {
      const done = (code: number | null): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        clearTimeout(idle)
        signal.removeEventListener('abort', onAbort)
        release()
        if (code !== 0) log('git upload-pack exited with %s%s: %s', code, stopped === undefined ? '' : ` (stopped: ${stopped})`, stderr.trim())
        // The first line only, and never the home's path: it goes to a stranger.
        resolve({ code, stopped, stderr: (stderr.trim().split('\n')[0] ?? '').replaceAll(this.#gitdir, 'cause.git') })
      }
      child.once('error', (err) => { log.error('git upload-pack could not run: %e', err); done(null) })
      child.once('close', done)
    })
    // The slot bounds processes: it is free once the child has exited, whatever its pipes hold.
    child.once('exit', release)
    if (signal.aborted) end()
    return { child, stdout: child.stdout, exited, moved: () => { if (!settled) idle.refresh() }, end }
  }
}
