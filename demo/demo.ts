/**
 * The local demo network: one coordinator, one verifier and two workers on
 * 127.0.0.1 with the toy-regression cause, each a real process talking libp2p.
 */
import { AutoresearchError } from '@autoresearch/protocol'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { describeEvent, homePaths, initHome, type CauseStatus, type CoordinatorEvent } from 'autoresearch-coordinator'

/** A process of the demo network stopped before it was up. */
class DemoProcessError extends AutoresearchError { override name = 'DemoProcessError' }

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const HELP = `npm run demo -- [options]

Starts a coordinator, one verifier and two workers on 127.0.0.1 with the
toy-regression cause and shows experiments, submissions, verdicts and merges.

  --merges <n>        exit 0 after n verified merges (last stdout line: JSON summary)
  --port <port>       HTTP port of the coordinator's status API (default 8080; 0 = any)
  --home <dir>        keep the coordinator's home here (default: a temporary folder)
  --workers <n>       number of workers (default 2)
  --timeout <seconds> give up (exit 1) after this long when --merges is set (default 600)
  --help              this text`

const { values } = parseArgs({
  options: {
    merges: { type: 'string' }, port: { type: 'string', default: '8080' }, home: { type: 'string' },
    workers: { type: 'string', default: '2' }, timeout: { type: 'string', default: '600' }, help: { type: 'boolean' }
  }
})
if (values.help === true) { console.log(HELP); process.exit(0) }

const targetMerges = values.merges === undefined ? undefined : Number(values.merges)
const scratch = mkdtempSync(join(tmpdir(), 'autoresearch-demo-'))
const home = resolve(values.home ?? join(scratch, 'coordinator'))
const children: ChildProcess[] = []
const say = (who: string, line: string): void => { process.stdout.write(`[${who}] ${line}\n`) }

function start (who: string, bin: string, args: string[], onLine?: (line: string) => void): ChildProcess {
  const child = spawn(process.execPath, [join(root, bin), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_NO_WARNINGS: '1' } })
  children.push(child)
  createInterface({ input: child.stdout! }).on('line', (line) => { if (onLine !== undefined) onLine(line); else say(who, line) })
  createInterface({ input: child.stderr! }).on('line', (line) => { say(who, line) })
  child.on('exit', (code, signal) => { if (!stopping) say(who, `exited (${signal ?? code})`) })
  return child
}

let stopping = false
async function stopAll (): Promise<void> {
  stopping = true
  await Promise.all(children.map(async (child) => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }))
}
process.on('SIGINT', () => { void stopAll().then(() => process.exit(130)) })
process.on('exit', () => { for (const c of children) if (c.exitCode === null) c.kill('SIGKILL') })

if (!existsSync(homePaths(home).config)) {
  const { causeId } = await initHome(home, join(root, 'examples', 'toy-regression'))
  say('demo', `coordinator home ${home} for ${causeId}`)
} else {
  say('demo', `reusing coordinator home ${home}`)
}

const ready = await new Promise<{ multiaddrs: string[], http: string }>((resolve, reject) => {
  const child = start('coordinator', 'coordinator/bin/autoresearch-coordinator.js',
    ['serve', '--home', home, '--listen', '/ip4/127.0.0.1/tcp/0', '--http-port', String(values.port), '--json'], (line) => {
      // With --json every event is one JSON line; anything else (a warning) is shown as it is.
      if (!line.startsWith('{"event":')) { say('coordinator', line); return }
      const event = JSON.parse(line) as { event: string } & Record<string, unknown>
      if (event.event === 'ready') resolve(event as unknown as { multiaddrs: string[], http: string })
      // Each worker line already shows its experiment; the coordinator's receipt of its report would repeat it.
      else if (event.event === 'experiments-reported') return
      else say('coordinator', describeEvent({ ...event, type: event.event } as unknown as CoordinatorEvent))
    })
  child.once('exit', (code) => { reject(new DemoProcessError(`coordinator exited (${code}) before it was ready`)) })
})
const address = ready.multiaddrs.find((a) => a.includes('/p2p/')) ?? ready.multiaddrs[0] as string
say('demo', `coordinator at ${address}; status: ${ready.http}/api/status`)

start('verifier', 'verifier/bin/autoresearch-verifier.js', ['--coordinator', address, '--identity', homePaths(home).verifierIdentity, '--state', join(scratch, 'verifier')])
for (let i = 1; i <= Number(values.workers); i++) {
  const dir = join(scratch, `worker-${i}`)
  mkdirSync(dir, { recursive: true })
  start(`worker-${i}`, 'worker/bin/autoresearch-worker.js', ['--coordinator', address, '--agent', 'search', '--identity', join(dir, 'identity.key'), '--state', dir, '--seed', String(i)])
}

async function status (): Promise<CauseStatus> {
  const res = await fetch(`${ready.http}/api/status`)
  return await res.json() as CauseStatus
}

/** What the workers reported so far, from the site's shared log (the first 1,000 reports). */
async function experiments (): Promise<{ reported: number, workers: number, statuses: Record<string, number> }> {
  const res = await fetch(`${ready.http}/api/experiments?limit=1000`)
  const { experiments } = await res.json() as { experiments: Array<{ worker: string, status: string }> }
  const statuses: Record<string, number> = {}
  for (const e of experiments) statuses[e.status] = (statuses[e.status] ?? 0) + 1
  return { reported: experiments.length, workers: new Set(experiments.map((e) => e.worker)).size, statuses }
}

if (targetMerges === undefined) {
  say('demo', 'running until Ctrl-C')
} else {
  const deadline = Date.now() + Number(values.timeout) * 1000
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const s = await status()
    if (s.merges >= targetMerges) {
      const tried = await experiments()
      await stopAll()
      console.log(JSON.stringify({ merges: s.merges, baselineMetric: s.baselineMetric, bestMetric: s.best.metric, bestCommit: s.best.commit, metric: s.metric.name, experiments: tried, home }))
      process.exit(0)
    }
    if (Date.now() > deadline) {
      await stopAll()
      console.error(`demo: only ${s.merges} of ${targetMerges} merges after ${values.timeout} s`)
      process.exit(1)
    }
  }
}
