/**
 * One participant of a simulated network in a process of its own (`RaceOptions.processes`):
 * a worker (with its helper verifier under `alsoVerify`) or a verifier, as a volunteer runs
 * `npx autoresearch-worker` or a verifier on a machine of its own. It talks to the coordinator
 * over libp2p like any peer, and to the race (bench/lib/sim-network.ts) over the IPC channel:
 * it forwards its events, its counts and each sandbox run, and runs from `go` until `stop`.
 */
import { join } from 'node:path'
import { setMaxListeners } from 'node:events'
import { CoordinatorClient, createNode, describeHardware, Identity, retryWithBackoff } from '@autoresearch/protocol'
import { selectBackend, type SandboxBackend } from '@autoresearch/runner'
import { searchAgent, Worker } from 'autoresearch-worker'
import { Verifier } from 'autoresearch-verifier'

/** What the race sends to start a participant. */
export interface ParticipantSpec {
  role: 'worker' | 'verifier'
  /** The identity's 32-byte seed, hex. */
  seed: string
  address: string
  stateDir: string
  trainCommand: string[]
  baselineCache?: boolean
  /** Workers: the search agent's seed, the worker's own seed, its name, whether it shares, and a helper verifier. */
  agentSeed?: number
  workerSeed?: number
  name?: string
  share?: boolean
  alsoVerify?: boolean
}

/** What a participant sends back. */
export type ParticipantMessage =
  | { type: 'ready' }
  | { type: 'run', side: 'worker' | 'verifier', train: boolean, seconds: number }
  | { type: 'event', from: 'worker' | 'verifier' | 'helper', event: Record<string, unknown>, experiments: number, submissions: number, cache: { hits: number, misses: number } }
  | { type: 'loop-error', message: string }

const send = (m: ParticipantMessage): void => { process.send?.(m) }

/** Drops what the race never reads and could be large (a run's whole log). */
function slim (e: object): Record<string, unknown> {
  const { log: _l, logTail: _t, ...rest } = e as Record<string, unknown>
  return rest
}

function counting (inner: SandboxBackend, side: 'worker' | 'verifier', trainCommand: string[]): SandboxBackend {
  const train = trainCommand.join('\0')
  return {
    name: inner.name,
    run: async (spec) => {
      const outcome = await inner.run(spec)
      send({ type: 'run', side, train: spec.command.join('\0') === train, seconds: outcome.durationMs / 1000 })
      return outcome
    }
  }
}

async function main (spec: ParticipantSpec): Promise<void> {
  const identity = Identity.fromSeed(Buffer.from(spec.seed, 'hex'))
  const node = await createNode({ identity })
  const client = new CoordinatorClient(node, spec.address)
  const sandbox = selectBackend()
  const controller = new AbortController()
  setMaxListeners(0, controller.signal)
  let worker: Worker | undefined
  let verifier: Verifier | undefined
  const counts = (): Pick<Extract<ParticipantMessage, { type: 'event' }>, 'experiments' | 'submissions' | 'cache'> =>
    ({ experiments: worker?.experiments ?? 0, submissions: worker?.submissions ?? 0, cache: { ...(verifier?.cacheStats ?? { hits: 0, misses: 0 }) } })
  const verifierBackend = counting(sandbox, 'verifier', spec.trainCommand)
  if (spec.role === 'verifier') {
    verifier = new Verifier({ client, identity, stateDir: spec.stateDir, backend: verifierBackend, baselineCache: spec.baselineCache })
    verifier.on('event', (e) => { send({ type: 'event', from: 'verifier', event: slim(e), ...counts() }) })
  } else {
    if (spec.alsoVerify === true) {
      verifier = new Verifier({ client, identity, stateDir: join(spec.stateDir, 'verifier'), backend: verifierBackend, baselineCache: spec.baselineCache, help: true })
      verifier.on('event', (e) => { send({ type: 'event', from: 'helper', event: slim(e), ...counts() }) })
    }
    worker = new Worker({
      client, identity, agent: searchAgent({ seed: spec.agentSeed }), seed: spec.workerSeed, alsoVerify: verifier, hardware: describeHardware(),
      stateDir: spec.stateDir, backend: counting(sandbox, 'worker', spec.trainCommand), name: spec.name, share: spec.share
    })
    worker.on('event', (e) => { send({ type: 'event', from: 'worker', event: slim(e), ...counts() }) })
  }
  const participant = worker ?? verifier as Verifier
  const go = new Promise<void>((resolve) => { process.on('message', (m: { type: string }) => { if (m.type === 'go') resolve(); if (m.type === 'stop') controller.abort() }) })
  // The race's end, or the race itself gone: either way this participant stops.
  process.on('disconnect', () => { controller.abort() })
  send({ type: 'ready' })
  await go
  // Like the CLIs: an error is reported and the loop goes on, here always after a second.
  await retryWithBackoff(async () => { await participant.run({ signal: controller.signal }) }, {
    signal: controller.signal, done: () => false, minMs: 1000, maxMs: 1000, onError: (err) => { send({ type: 'loop-error', message: `${err.name}: ${err.message}` }) }
  })
  await node.stop()
}

process.once('message', (spec: ParticipantSpec) => {
  main(spec).then(() => { process.exit(0) }, (err: unknown) => {
    process.stderr.write(`participant: ${(err as Error).stack ?? String(err)}\n`)
    process.exit(1)
  })
})
