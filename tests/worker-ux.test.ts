import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'
import { ROOT } from './processes.ts'
import { TestNetwork } from './network.ts'

const TOY = join(ROOT, 'examples', 'toy-regression')
const WORKER = resolve(ROOT, 'worker/bin/autoresearch-worker.js')

/**
 * A CLI agent that needs its work tree to be a git repository, first breaks train.py (once the
 * prompt shows that crash, it stops), then moves the learning rate. It prints its own path and
 * no DESCRIPTION line, as a hand-written script would: the worker must describe the edit itself.
 */
const AGENT = `#!/bin/sh
set -e
git status --porcelain > /dev/null
git diff --exit-code > /dev/null
echo "$0 working"
case "$1" in
  *"break it on purpose"*)
    r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    sed -i "s/^LEARNING_RATE = [0-9.]*/LEARNING_RATE = 0.1$r/" train.py ;;
  *)
    printf 'raise RuntimeError("the agent broke it")\\n' >> train.py
    echo "DESCRIPTION: break it on purpose" ;;
esac
git diff --stat
`

/** A worker process as a volunteer starts it, warnings on (the harness's other helpers turn them off). */
function startWorker (args: string[]): { child: ChildProcess, lines: string[], exited: Promise<number | null> } {
  const env: Record<string, string | undefined> = { ...process.env, NODE_OPTIONS: '--trace-warnings' }
  delete env.NODE_NO_WARNINGS
  const child = spawn(process.execPath, [WORKER, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env })
  const lines: string[] = []
  createInterface({ input: child.stdout! }).on('line', (line) => { lines.push(line) })
  createInterface({ input: child.stderr! }).on('line', (line) => { lines.push(`stderr: ${line}`) })
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => { r(code) }))
  return { child, lines, exited }
}

const events = (lines: string[]): Array<Record<string, unknown>> => lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)

describe('a worker as a volunteer sees it', () => {
  let net: TestNetwork | undefined
  const children: ChildProcess[] = []
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
    await net?.stop()
    net = undefined
  })

  it('keeps a crash\'s reason and log, publishes no local path, shows its progress, refuses a second worker on its state, and warns of no listener leak', async () => {
    net = await TestNetwork.start(TOY)
    const dir = mkdtempSync(join(tmpdir(), 'ar-ux-'))
    const agent = join(dir, 'tweak.sh')
    writeFileSync(agent, AGENT)
    chmodSync(agent, 0o755)
    const state = join(dir, 'state')
    const args = ['--coordinator', net.address, '--identity', join(dir, 'id.key'), '--state', state, '--agent', 'command', '--agent-command', agent, '--no-lookahead', '--json']
    const first = startWorker([...args, '--max-experiments', '4'])
    children.push(first.child)

    // A second worker on the same state stops at once and says what to pass.
    await new Promise<void>((r, reject) => {
      const timer = setInterval(() => { if (first.lines.some((l) => l.includes('"event":"phase"'))) { clearInterval(timer); r() } else if (first.child.exitCode !== null) { clearInterval(timer); reject(new Error(first.lines.join('\n'))) } }, 100)
    })
    const second = startWorker(args)
    children.push(second.child)
    expect(await second.exited).toBe(1)
    const refusal = second.lines.join('\n')
    expect(refusal).toContain('StateInUseError')
    expect(refusal).toContain(`${state} is in use by another worker (process ${first.child.pid})`)
    expect(refusal).toMatch(/--state <dir> and --identity <file>/)

    expect(await first.exited, first.lines.slice(-20).join('\n')).toBe(0)
    const all = events(first.lines)
    expect(all.filter((e) => e.event === 'agent-error')).toEqual([])

    // Progress while the best is measured: one event per run, numbered. Its run on arrival, then
    // this machine's noise on two more seeds when the first gain (the learning rate) needs it.
    const runsOf = (what: string): string[] => all.filter((e) => e.event === 'measuring' && e.what === what).map((e) => `${e.run as number}/${e.runs as number}`)
    expect(runsOf('best')).toEqual(['1/1'])
    expect(runsOf('noise')).toEqual(['1/2', '2/2'])
    expect(all.filter((e) => e.event === 'noise')).toHaveLength(1)

    // The crash: an empty metric, the reason in its description, and its log kept and named.
    const rows = readFileSync(join(state, 'results.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'))
    const crash = rows.find((r) => r[3] === 'crash')
    expect(crash?.[1]).toBe('')
    expect(crash?.[4]).toMatch(/^break it on purpose \(crash: train exited with code 1: RuntimeError: the agent broke it\)$/)
    const crashed = all.find((e) => e.event === 'experiment' && (e.row as { status: string }).status === 'crash') as { log: string }
    expect(crashed.log.startsWith(join(state, 'logs'))).toBe(true)
    expect(readFileSync(crashed.log, 'utf8')).toMatch(/RuntimeError: the agent broke it[\s\S]*=== result ===\ncrash: train exited with code 1/)

    // Descriptions from the diff, and nothing published names a path of this machine.
    const tuned = rows.filter((r) => r[3] !== 'crash' && r[4]?.startsWith('LEARNING_RATE 0.01 -> 0.1'))
    expect(tuned.length).toBeGreaterThan(0)
    const published = net.running.coordinator.store.experiments({ limit: 100 }).map((e) => e.description)
    expect(published.length).toBeGreaterThanOrEqual(4)
    // The network learns why it crashed too.
    expect(published).toContain(crash?.[4])
    for (const text of [...published, ...rows.map((r) => r[4] ?? '')]) {
      expect(text).not.toContain(dir)
      expect(text).not.toContain('tweak.sh')
    }

    // The warning that reads as a leak.
    expect(first.lines.filter((l) => /MaxListenersExceeded|Warning:/.test(l))).toEqual([])
    expect(existsSync(join(state, 'worker.lock'))).toBe(false)
  })
})
