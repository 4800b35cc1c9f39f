/**
 * The local demo network: one coordinator, one verifier and two workers on
 * 127.0.0.1 with the toy-regression cause, each a real process talking libp2p.
 */
import { AutoresearchError } from '../protocol/src/errors.ts'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { CauseStatus, CoordinatorEvent } from 'autoresearch-coordinator'
import { ensurePrerequisites } from './prerequisites.ts'
import { Quiet, QUIET_NOTICE_MS, quietNotice } from './src/quiet.ts'
import { deathReport, type Member, type Role } from './src/watch.ts'

/** Processes of the demo network died and the rest cannot make progress without them. */
class DemoProcessError extends AutoresearchError { override name = 'DemoProcessError' }

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const HELP = `npm run demo -- [options]

Starts a coordinator, one verifier and two workers on 127.0.0.1 with the
toy-regression cause and shows experiments, submissions, verdicts and merges.
First installs the system packages it needs (python3, bubblewrap) with apt-get
when they are missing (as root, or through passwordless sudo), or stops and
says how to install them. Exits 1 when the processes it started die.

  --merges <n>        exit 0 after n verified merges (last stdout line: JSON summary);
                      the toy cause holds only a few before its noise floor;
                      the demo says when nothing has run for 30 s
  --port <port>       HTTP port of the coordinator's status API (default 8080; 0 = any)
  --home <dir>        keep the coordinator's home here (default: a temporary folder)
  --workers <n>       number of workers (default 2)
  --agent <name>      the workers' agent (default search; see autoresearch-worker --help)
  --no-install        never install system packages: only say which are missing
  --timeout <seconds> give up (exit 1) after this long when --merges is set (default 600)
  --help              this text`

const { values } = parseArgs({
  options: {
    merges: { type: 'string' }, port: { type: 'string', default: '8080' }, home: { type: 'string' },
    workers: { type: 'string', default: '2' }, timeout: { type: 'string', default: '600' }, help: { type: 'boolean' },
    agent: { type: 'string', default: 'search' }, 'no-install': { type: 'boolean' }
  }
})
if (values.help === true) { console.log(HELP); process.exit(0) }

const targetMerges = values.merges === undefined ? undefined : Number(values.merges)
const scratch = mkdtempSync(join(tmpdir(), 'autoresearch-demo-'))
const home = resolve(values.home ?? join(scratch, 'coordinator'))
const children: ChildProcess[] = []
const members: Array<Member & { lastLines: string[] }> = []
const say = (who: string, line: string): void => { process.stdout.write(`[${who}] ${line}\n`) }
const LINES_KEPT = 10

function start (who: string, role: Role, bin: string, args: string[], onLine?: (line: string) => void): ChildProcess {
  const child = spawn(process.execPath, [join(root, bin), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_NO_WARNINGS: '1' } })
  children.push(child)
  const member: Member & { lastLines: string[] } = { name: who, role, lastLines: [] }
  members.push(member)
  const keep = (line: string): void => { member.lastLines.push(line); if (member.lastLines.length > LINES_KEPT) member.lastLines.shift() }
  createInterface({ input: child.stdout! }).on('line', (line) => { keep(line); if (onLine !== undefined) onLine(line); else say(who, line) })
  createInterface({ input: child.stderr! }).on('line', (line) => { keep(line); say(who, line) })
  // 'close' comes after the last line was read, so the report below has them all.
  child.on('close', (code, signal) => {
    if (stopping) return
    member.exit = signal ?? `code ${code}`
    say(who, `exited (${member.exit})`)
    scheduleCheck()
  })
  return child
}

/** Processes that die together (no sandbox: the verifier and every worker) are reported together. */
const SETTLE_MS = 1000
let checkTimer: NodeJS.Timeout | undefined
function scheduleCheck (): void {
  if (checkTimer !== undefined) return
  checkTimer = setTimeout(() => {
    checkTimer = undefined
    const report = deathReport(members, LINES_KEPT)
    if (report !== undefined) void fail(new DemoProcessError(report))
  }, SETTLE_MS)
}

/** Stops every process left and exits 1 with the reason. */
async function fail (err: Error): Promise<never> {
  await stopAll()
  console.error(`demo: ${err.message}`)
  process.exit(1)
}

let stopping = false
async function stopAll (): Promise<void> {
  stopping = true
  // The coordinator (started first) goes last: what the workers send as they stop (their last experiment reports) still reaches it.
  const [coordinator, ...rest] = children
  await Promise.all(rest.map(stopChild))
  if (coordinator !== undefined) await stopChild(coordinator)
}

async function stopChild (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}
process.on('SIGINT', () => { void stopAll().then(() => process.exit(130)) })
process.on('exit', () => { for (const c of children) if (c.exitCode === null) c.kill('SIGKILL') })

try {
  await ensurePrerequisites(root, { install: values['no-install'] !== true, say: (line) => { say('setup', line) } })
} catch (err) {
  await fail(err as Error)
}
// Loaded after the check, which then answers in a second or two instead of after libp2p loads.
const { describeEvent, homePaths, initHome } = await import('autoresearch-coordinator')

if (!existsSync(homePaths(home).config)) {
  const { causeId } = await initHome(home, join(root, 'examples', 'toy-regression'))
  say('demo', `coordinator home ${home} for ${causeId}`)
} else {
  say('demo', `reusing coordinator home ${home}`)
}

/** The coordinator's events that show the network at work; a long spell without them is told once (src/quiet.ts). */
const ACTIVITY: ReadonlySet<string> = new Set<CoordinatorEvent['type']>(['experiments-reported', 'receipt', 'leased', 'verdict'])
const quiet = new Quiet(Date.now())

// A coordinator that exits before it is ready is reported by the check above, which exits.
const ready = await new Promise<{ multiaddrs: string[], http: string }>((resolve) => {
  start('coordinator', 'coordinator', 'coordinator/bin/autoresearch-coordinator.js',
    ['serve', '--home', home, '--listen', '/ip4/127.0.0.1/tcp/0', '--http-port', String(values.port), '--json'], (line) => {
      // With --json every event is one JSON line; anything else (a warning) is shown as it is.
      if (!line.startsWith('{"event":')) { say('coordinator', line); return }
      const event = JSON.parse(line) as { event: string } & Record<string, unknown>
      if (ACTIVITY.has(event.event)) quiet.active(Date.now())
      if (event.event === 'ready') resolve(event as unknown as { multiaddrs: string[], http: string })
      // Each worker line already shows its experiment; the coordinator's receipt of its report would repeat it.
      else if (event.event === 'experiments-reported') return
      // Connections of the demo's own processes on loopback tell the viewer nothing.
      else if (event.event === 'peer' || event.event === 'peers-summary') return
      else say('coordinator', describeEvent({ ...event, type: event.event } as unknown as CoordinatorEvent))
    })
})
const address = ready.multiaddrs.find((a) => a.includes('/p2p/')) ?? ready.multiaddrs[0] as string
say('demo', `coordinator at ${address}; status: ${ready.http}/api/status`)
say('demo', `site: ${ready.http}/   clone the cause: git clone ${ready.http}/cause.git`)

start('verifier', 'verifier', 'verifier/bin/autoresearch-verifier.js', ['--coordinator', address, '--identity', homePaths(home).verifierIdentity, '--state', join(scratch, 'verifier')])
for (let i = 1; i <= Number(values.workers); i++) {
  const dir = join(scratch, `worker-${i}`)
  mkdirSync(dir, { recursive: true })
  start(`worker-${i}`, 'worker', 'worker/bin/autoresearch-worker.js', ['--coordinator', address, '--agent', String(values.agent), '--identity', join(dir, 'identity.key'), '--state', dir, '--seed', String(i)])
}

async function status (): Promise<CauseStatus> {
  const res = await fetch(`${ready.http}/api/status`)
  return await res.json() as CauseStatus
}

// A first-time user should not have to guess whether a quiet network hangs.
quiet.active(Date.now())
setInterval(() => {
  if (stopping || !quiet.due(Date.now())) return
  status().then((s) => { say('demo', quietNotice(quiet.for(Date.now()), { merges: s.merges, metric: s.metric.name, best: s.best.metric }, String(values.agent))) })
    .catch((err: unknown) => { say('demo', `the network has been quiet, and its status did not answer (${String(err)})`) })
}, 1000).unref()

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
    if (stopping) continue
    // Unreachable when the coordinator died, which the check above reports; else kept for the timeout's message.
    let statusError: unknown
    const s = await status().catch((err: unknown) => { statusError = err; return undefined })
    if (s !== undefined && s.merges >= targetMerges) {
      const tried = await experiments()
      await stopAll()
      console.log(JSON.stringify({ merges: s.merges, baselineMetric: s.baselineMetric, bestMetric: s.best.metric, bestCommit: s.best.commit, metric: s.metric.name, experiments: tried, home }))
      process.exit(0)
    }
    if (Date.now() > deadline) {
      await stopAll()
      const quietFor = Math.round(quiet.for(Date.now()) / 1000)
      const why = quietFor >= QUIET_NOTICE_MS / 1000 ? `; nothing had run for the last ${quietFor} s (see above)` : ''
      console.error(`demo: ${s === undefined ? `the status API did not answer (${String(statusError)})` : `only ${s.merges} of ${targetMerges} merges`} after ${values.timeout} s${why}`)
      process.exit(1)
    }
  }
}
