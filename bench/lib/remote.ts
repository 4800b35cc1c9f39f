import { fork, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { join } from 'node:path'
import type { ParticipantMessage, ParticipantSpec } from './participant.ts'

/** How long a participant may take to stop (its sandbox run ends, its node closes) before it is killed. */
const STOP_MS = 30_000

export interface RemoteHooks {
  /** A sandbox run ended there: its side, whether it was a train step, its seconds. */
  onRun: (side: 'worker' | 'verifier', train: boolean, seconds: number) => void
  /** Its loop stopped on an error and resumes a second later (as the CLIs do). */
  onLoopError: (message: string) => void
}

/**
 * A participant (bench/lib/participant.ts) in a child process, seen from the race: it emits
 * the worker's or verifier's events as `event` (a worker's helper verifier's as
 * `helper-event`) and keeps the counts the race reads, as of its last message.
 */
export class RemoteParticipant extends EventEmitter {
  experiments = 0
  submissions = 0
  cacheStats = { hits: 0, misses: 0 }
  readonly ready: Promise<void>
  readonly #child: ChildProcess
  readonly #exited: Promise<void>

  constructor (spec: ParticipantSpec, hooks: RemoteHooks) {
    super()
    this.#child = fork(join(import.meta.dirname, 'participant.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.#exited = new Promise((resolve) => { this.#child.once('exit', () => { resolve() }) })
    this.ready = new Promise((resolve, reject) => {
      this.#child.once('exit', (code) => { reject(new Error(`a ${spec.role} process exited with code ${code} before it was ready`)) })
      this.#child.on('message', (m: ParticipantMessage) => {
        if (m.type === 'ready') resolve()
        else if (m.type === 'run') hooks.onRun(m.side, m.train, m.seconds)
        else if (m.type === 'loop-error') hooks.onLoopError(m.message)
        else {
          this.experiments = m.experiments
          this.submissions = m.submissions
          this.cacheStats = m.cache
          this.emit(m.from === 'helper' ? 'helper-event' : 'event', m.event)
        }
      })
    })
    // A race that failed before it was awaited must not also fail as unhandled.
    this.ready.catch(() => {})
    this.#child.send(spec)
  }

  /** Starts its loop: the race's clock starts with every participant's. */
  go (): void {
    this.#child.send({ type: 'go' })
  }

  /** Stops its loop and waits for the process to end (killed after STOP_MS). */
  async stop (): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return
    if (this.#child.connected) this.#child.send({ type: 'stop' })
    const timer = setTimeout(() => { this.#child.kill('SIGKILL') }, STOP_MS)
    await this.#exited
    clearTimeout(timer)
  }
}
