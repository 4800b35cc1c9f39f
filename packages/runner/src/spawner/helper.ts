/**
 * The spawner process: starts a runner's steps and tree tools for it (spawner/client.ts).
 * A fork copies the page tables of the process that calls it and holds that process's
 * event loop until the child has exec'd; from this small process it does neither to the
 * runner's. Ends once the runner is gone and what it started here has ended: steps still
 * running are stopped as an abort stops them.
 */
import { logger } from '@libp2p/logger'
import { runHere } from '../backends/spawn.ts'
import { toolHere } from '../tree.ts'
import type { Reply, Request } from './messages.ts'

const log = logger('autoresearch:runner:spawner')
const steps = new Map<number, AbortController>()
let pending = 0
/**
 * Lines a step printed since the last message about it: a step that prints many short lines
 * would otherwise cost the runner one IPC message (and one wake of its event loop) each.
 */
const lines = new Map<number, string[]>()

function send (reply: Reply): void {
  if (process.connected) process.send?.(reply)
}

/** Sends what `id` printed since the last flush, in one message. */
function flush (id: number): void {
  const batch = lines.get(id)
  if (batch === undefined) return
  lines.delete(id)
  send({ type: 'lines', id, lines: batch })
}

function onLine (id: number, line: string): void {
  const batch = lines.get(id)
  if (batch !== undefined) {
    batch.push(line)
    return
  }
  lines.set(id, [line])
  // Lines read in one turn of the loop go together; a slow printer still sees each line at once.
  setImmediate(() => { flush(id) })
}

function settle (): void {
  pending--
  if (pending === 0 && !process.connected) process.exit(0)
}

process.on('message', (m: Request) => {
  if (m.type === 'abort') {
    steps.get(m.id)?.abort()
    return
  }
  pending++
  if (m.type === 'tool') {
    void toolHere(m.argv, m.timeoutMs).then((result) => { send({ type: 'tool-done', id: m.id, result }) })
      .catch((err: unknown) => { send({ type: 'failed', id: m.id, message: String((err as Error)?.message ?? err) }) })
      .finally(settle)
    return
  }
  const controller = new AbortController()
  steps.set(m.id, controller)
  const { fd3, ...plan } = m.plan
  void runHere(
    { ...m.spec, signal: controller.signal, ...(m.lines ? { onLine: (line: string) => { onLine(m.id, line) } } : {}) },
    { ...plan, ...(fd3 === undefined ? {} : { fd3: Buffer.from(fd3) }), onSpawn: (pid) => { send({ type: 'pid', id: m.id, pid }) } }
  ).then((outcome) => {
    flush(m.id)
    send({ type: 'step-done', id: m.id, outcome })
  })
    .catch((err: unknown) => {
      log.error('step %d: %e', m.id, err)
      send({ type: 'failed', id: m.id, message: String((err as Error)?.message ?? err) })
    })
    .finally(() => { lines.delete(m.id); steps.delete(m.id); settle() })
})

send({ type: 'ready' })

process.on('disconnect', () => {
  log('the runner is gone; stopping %d steps', steps.size)
  for (const controller of steps.values()) controller.abort()
  if (pending === 0) process.exit(0)
})
